package io.sparsetrain.kernels.vector;

import io.sparsetrain.kernels.GemmKernels;
import io.sparsetrain.kernels.KernelThreads;
import io.sparsetrain.kernels.NmLayout;
import io.sparsetrain.kernels.NmMatrix;
import io.sparsetrain.kernels.PackedProducts;
import io.sparsetrain.kernels.DirectConvolutions;
import io.sparsetrain.kernels.Conv2dShape;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels (see the package documentation of {@code io.sparsetrain.kernels} for the
 * design and measured figures). Loaded only reflectively by
 * {@link io.sparsetrain.kernels.KernelProvider}, so that a JVM without {@code jdk.incubator.vector}
 * falls back to the scalar kernels.
 *
 * <p>All products work on <em>column panels</em>: the right-hand operand (X, dY) is copied, one
 * reduction block at a time, into an aligned slab of panel rows ({@link #PD} columns for the dense
 * kernel, up to {@link #VMAX} vectors for N:M), zero-padded, so that the inner loops have no
 * column tail and no masks and the slab stays in L1; partial results accumulate in a per-task
 * panel of the workspace. Tasks are (column panel, row chunk) pairs on the {@link KernelThreads}
 * pool.
 */
public final class VectorGemm implements GemmKernels, PackedProducts, DirectConvolutions {

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Lanes per vector (16 with AVX-512). */
    static final int L = S.length();
    /** Dense panel width: 2 vectors. */
    static final int PD = 2 * L;
    /** Dense register tile height (rows); the tile is MR x 2 vectors = 16 accumulators. */
    static final int MR = 8;
    /** Dense reduction block: a KD x PD slab (16 KiB with AVX-512) stays in L1. */
    static final int KD = 128;
    /** N:M reduction block (inner rows per packed slab; 64 x 8 vectors = 32 KiB). */
    static final int KB = 64;
    /** Widest N:M panel in vectors. */
    static final int VMAX = 8;
    /** Reduction block (K positions) of the weight-gradient product. */
    static final int KB_W = 32;
    /** Column block of the weight-gradient product: 16 vectors (a KB_W x CB_W slab of X is 32 KiB). */
    static final int CB_W = 16 * L;
    /** Most output rows per weight-gradient task. */
    static final int RB_W = 64;
    /**
     * Columns up to which the weight gradient takes the dense route: with one or two column panels
     * the sampled kernel's fixed cost per 16 entries (the reduction tree, ~15 permutes and 30
     * blends) is not amortised (measured, loaded machine: 0.7x at 49 columns, 1.0x at 196, 1.4x
     * at 784 and more). Default: off (every weight gradient on the dense route), because inside the
     * ResNet-20 conv backward (tens of thousands of columns) the sampled kernel measured slower than the
     * dense route on a quiet machine (frozen 2:4 training 140 vs 174 images/s, LayersBenchmark); set
     * system property {@code sparsetrain.kernels.dwSampledMinCols} (e.g. 256) to use it.
     */
    public static final int DW_SAMPLED_MIN_COLS =
        Integer.getInteger("sparsetrain.kernels.dwSampledMinCols", Integer.MAX_VALUE);
    /**
     * System property choosing the weight-gradient route: {@code true} sends every N:M weight gradient through
     * the pattern-grouped kernel ({@link #nmBackwardWeightGrouped}), {@code false} never; unset, the kernel is
     * used where it measured faster than the dense product (at most {@link #DW_GROUPED_MAX_ROWS} rows and at least
     * {@link #DW_GROUPED_MIN_COLS} columns: 1.24-1.90x on ResNet-20's and ResNet-50's stage-1/2 shapes, 0.3-0.7x on
     * 256+ rows or 49-196 columns; BENCHMARKS.md). Read on every weight gradient (one property lookup next to a
     * product of millions of FMAs), so a benchmark can compare the routes side by side in one JVM.
     */
    public static final String DW_GROUPED_PROPERTY = "sparsetrain.kernels.dwGrouped";
    /**
     * System property choosing the N:M weight gradient of a stride-1 convolution: {@code true} the pattern-grouped
     * kernels on stacked padded images ({@link DirectNmWeightGrad}), {@code false} the dense direct product with the
     * kept entries taken from it; unset, the shape rule of {@link #directBackwardWeight(Conv2dShape, NmMatrix)}.
     * Read on every call, so a benchmark can compare the routes side by side in one JVM.
     */
    public static final String DW_DIRECT_GROUPED_PROPERTY = "sparsetrain.kernels.dwDirectGrouped";
    /**
     * System property choosing the dense weight gradient of a stride-1 convolution: {@code true} the grouped kernels
     * with every position kept ({@link DirectNmWeightGrad#runDense}), {@code false} the dense register tile on the
     * padded images ({@code DirectConv.backwardWeight}); unset, the grouped kernels up to one vector ({@link #L})
     * of output channels, where the tile (two vectors of output channels wide) multiplies half zeros. Measured in one
     * JVM (BENCHMARKS.md session 13): 1.57x the tile at 16 channels, 0.53-0.84x at 32-128. Read on every call.
     */
    public static final String DW_DENSE_GROUPED_PROPERTY = "sparsetrain.kernels.dwDenseGrouped";
    /**
     * Shape route of the direct grouped weight gradient: at most this many output channels. Measured against the
     * route it replaces (the dense direct product, then the kept entries; A/B in one JVM, BENCHMARKS.md session 13):
     * 1.11-1.40x at 128 and 256 channels, 1.18x on one thread but 0.86x on two at 512.
     */
    public static final int DW_DIRECT_GROUPED_MAX_ROWS = 256;
    /** Shape route of the grouped weight gradient: at most this many rows (output channels). */
    public static final int DW_GROUPED_MAX_ROWS = 128;
    /** Shape route of the grouped weight gradient: at least this many columns (batch x output pixels). */
    public static final int DW_GROUPED_MIN_COLS = 768;

    static boolean dwGrouped(int rows, int cols) {
        return route(DW_GROUPED_PROPERTY, rows <= DW_GROUPED_MAX_ROWS && cols >= DW_GROUPED_MIN_COLS);
    }

    /** The route {@code property} forces ("true" or "false") when set, else {@code byShape}; read on every call. */
    private static boolean route(String property, boolean byShape) {
        String v = System.getProperty(property);
        return v != null ? Boolean.parseBoolean(v) : byShape;
    }
    /** Weight-gradient lane buffer per task (floats): 512 KiB, L2-resident. */
    static final int LB_W = 128 * 1024;

    /** Other per-thread scratch arrays (the dense dW of the weight gradient). */
    private static final ThreadLocal<float[][]> BUFFERS = ThreadLocal.withInitial(() -> new float[4][]);
    private static final ThreadLocal<Workspace> WORKSPACE = ThreadLocal.withInitial(Workspace::new);

    private final KernelThreads fixedThreads;

    /** Kernels on {@code threads}, or on the (resizable) shared pool when null. */
    public VectorGemm(KernelThreads threads) {
        this.fixedThreads = threads;
    }

    private KernelThreads threads() {
        return fixedThreads != null ? fixedThreads : KernelThreads.shared();
    }

    @Override
    public String name() {
        return "vector" + S.vectorBitSize() + "x" + threads().threads();
    }

    /**
     * A per-thread work array for the packed slab and the accumulator panel, with both starting on
     * a 64-byte boundary: a 512-bit load that straddles two cache lines costs about 1.5x here, and
     * the gather kernel is load-bound. The JVM does not align arrays beyond 8 bytes, but G1 places
     * a humongous array (>= half a heap region) at the start of a region and never moves it, so
     * the data is aligned at a fixed offset past the array header. With other collectors or very
     * large regions the kernels are just as correct, only slower.
     */
    static final class Workspace {
        /** Floats from the array start to the first 64-byte boundary of the data. */
        static final int ALIGN = alignOffset();
        static final int FLOATS = Math.max(1 << 20, humongousFloats());

        final float[] data = new float[FLOATS];
        private float[] spill;

        /** Offset of the slab (size slabFloats) and, after it, of the accumulators (accFloats). */
        int slab() {
            return ALIGN;
        }

        /** The array holding the accumulators: {@link #data} if they fit after the slab. */
        float[] acc(int slabFloats, int accFloats) {
            if (ALIGN + roundUp(slabFloats) + accFloats <= FLOATS) {
                return data;
            }
            if (spill == null || spill.length < accFloats) {
                spill = new float[accFloats];
            }
            return spill;
        }

        int accOffset(int slabFloats, int accFloats) {
            return ALIGN + roundUp(slabFloats) + accFloats <= FLOATS ? ALIGN + roundUp(slabFloats) : 0;
        }

        static int roundUp(int floats) {
            return (floats + 15) & ~15;
        }

        private static int alignOffset() {
            int base = 16; // array header with compressed class pointers
            try {
                base = Class.forName("sun.misc.Unsafe").getField("ARRAY_FLOAT_BASE_OFFSET").getInt(null);
            } catch (ReflectiveOperationException | RuntimeException e) {
                // keep the default
            }
            return ((64 - base % 64) % 64) / Float.BYTES;
        }

        private static int humongousFloats() {
            try {
                Object bean = java.lang.management.ManagementFactory.class.getMethod("getPlatformMXBean", Class.class)
                        .invoke(null, Class.forName("com.sun.management.HotSpotDiagnosticMXBean"));
                Object option = bean.getClass().getMethod("getVMOption", String.class).invoke(bean, "G1HeapRegionSize");
                String value = (String) option.getClass().getMethod("getValue").invoke(option);
                long region = Long.parseLong(value);
                return (int) Math.min(1 << 24, region / 2 / Float.BYTES + 64);
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                return 1 << 20;
            }
        }
    }

    /** This thread's workspace. */
    static Workspace workspace() {
        return WORKSPACE.get();
    }

    static float[] buffer(int which, int size) {
        float[][] b = BUFFERS.get();
        if (b[which] == null || b[which].length < size) {
            b[which] = new float[Math.max(size, b[which] == null ? 0 : b[which].length * 5 / 4)];
        }
        return b[which];
    }

    /**
     * Copies rows [k0, k1), columns [c0, c0 + pw) of x [*, cols] into xp [k1 - k0, pw] at xpOff,
     * zero-padding past cols.
     */
    static void packSlab(float[] x, int cols, int k0, int k1, int c0, int pw, float[] xp, int xpOff) {
        int w = Math.min(pw, cols - c0);
        for (int k = k0; k < k1; k++) {
            int d = xpOff + (k - k0) * pw;
            System.arraycopy(x, k * cols + c0, xp, d, w);
            if (w < pw) {
                Arrays.fill(xp, d + w, d + pw, 0f);
            }
        }
    }

    /** Copies ybuf [o1 - o0, pw] into rows [o0, o1), columns [c0, c0 + pw) of y [*, cols]. */
    static void unpackPanel(float[] ybuf, int yoff, int pw, int o0, int o1, float[] y, int cols, int c0) {
        int w = Math.min(pw, cols - c0);
        for (int o = o0; o < o1; o++) {
            System.arraycopy(ybuf, yoff + (o - o0) * pw, y, o * cols + c0, w);
        }
    }

    /** Rows per task so that panels x row-chunks gives every thread about two tasks. */
    static int rowChunk(int nOut, int panels, int threads, int align) {
        if (threads == 1 || panels >= 2 * threads) {
            return nOut;
        }
        int chunks = (2 * threads + panels - 1) / panels;
        int rows = Math.max(32, (nOut + chunks - 1) / chunks);
        rows = (rows + align - 1) / align * align;
        return Math.min(rows, nOut);
    }

    // ---------------------------------------------------------------- dense

    @Override
    public void gemm(float[] a, float[] b, float[] c, int m, int k, int n) {
        GemmKernels.checkGemm(a, b, c, m, k, n);
        dense(a, k, 1, b, false, m, k, n, (cbuf, cOff, r0, r1, c0) -> unpackPanel(cbuf, cOff, PD, r0, r1, c, n, c0));
    }

    @Override
    public void gemmTransA(float[] a, float[] b, float[] c, int m, int k, int n) {
        GemmKernels.checkGemm(a, b, c, m, k, n);
        dense(a, 1, m, b, false, m, k, n, (cbuf, cOff, r0, r1, c0) -> unpackPanel(cbuf, cOff, PD, r0, r1, c, n, c0));
    }

    @Override
    public void gemmTransB(float[] a, float[] b, float[] c, int m, int k, int n) {
        GemmKernels.checkGemm(a, b, c, m, k, n);
        dense(a, k, 1, b, true, m, k, n, (cbuf, cOff, r0, r1, c0) -> unpackPanel(cbuf, cOff, PD, r0, r1, c, n, c0));
    }

    /**
     * C [m, n] = A * B where A(r, q) = a[r * rs + q * qs] and B(q, j) = b[q * n + j], or
     * b[j * k + q] when {@code bTransposed}. B is packed slab by slab (KD x PD, L1-resident);
     * the transposes cost nothing extra because packing copies anyway.
     */
    /** Receives a finished accumulator panel: rows [r0, r1), columns [c0, c0 + PD). */
    interface PanelSink {
        void accept(float[] cbuf, int cOff, int r0, int r1, int c0);
    }

    private void dense(float[] a, int rs, int qs, float[] b, boolean bTransposed, int m, int k, int n, PanelSink sink) {
        int panels = (n + PD - 1) / PD;
        KernelThreads t = threads();
        int chunk = rowChunk(m, panels, t.threads(), MR);
        int chunks = (m + chunk - 1) / chunk;
        int[] rowsPd = panelRows(k);
        t.parallelFor(panels * chunks, task -> {
            int p = task / chunks;
            int r0 = (task % chunks) * chunk;
            int r1 = Math.min(m, r0 + chunk);
            Workspace ws = WORKSPACE.get();
            float[] bp = ws.data;
            int bOff = ws.slab();
            int accFloats = (r1 - r0) * PD;
            float[] cbuf = ws.acc(KD * PD, accFloats);
            int cOff = ws.accOffset(KD * PD, accFloats);
            Arrays.fill(cbuf, cOff, cOff + accFloats, 0f);
            for (int kb0 = 0; kb0 < k; kb0 += KD) {
                int kb1 = Math.min(k, kb0 + KD);
                if (bTransposed) {
                    packSlabTransposed(b, 0, k, n, kb0, kb1, p * PD, PD, bp, bOff);
                } else {
                    packSlab(b, n, kb0, kb1, p * PD, PD, bp, bOff);
                }
                denseSlab(a, rs, qs, kb0, kb1, r0, r1, bp, bOff - kb0 * PD, rowsPd, cbuf, cOff);
            }
            sink.accept(cbuf, cOff, r0, r1, p * PD);
        });
    }

    /** Like {@link #packSlab} for B stored transposed: B(q, j) = bt[btOff + j * k + q]. */
    static void packSlabTransposed(float[] bt, int btOff, int k, int n, int k0, int k1, int c0, int pw, float[] xp,
                                   int xpOff) {
        int w = Math.min(pw, n - c0);
        if (w < pw) {
            Arrays.fill(xp, xpOff, xpOff + (k1 - k0) * pw, 0f);
        }
        for (int j = 0; j < w; j++) {
            int src = btOff + (c0 + j) * k;
            for (int q = k0; q < k1; q++) {
                xp[xpOff + (q - k0) * pw + j] = bt[src + q];
            }
        }
    }

    /** {@code q * PD} for q in [0, n): the row offsets of a packed slab for {@link #denseSlab}. */
    static int[] panelRows(int n) {
        int[] t = panelRows;
        if (t.length < n) {
            t = new int[Math.max(n, 2 * t.length)];
            for (int q = 0; q < t.length; q++) {
                t[q] = q * PD;
            }
            panelRows = t;
        }
        return t;
    }

    private static volatile int[] panelRows = new int[0];

    /**
     * cbuf [r1 - r0, PD] += A[r0:r1, kb0:kb1] * B, where the PD floats of B's row q start at
     * {@code bp[bOff + qOff[q]]}: a packed slab ({@code qOff = panelRows}, {@code bOff} = slab start - kb0 * PD),
     * or a padded image read in place (the direct convolution). Register tile MR rows x 2 vectors.
     */
    static void denseSlab(float[] a, int rs, int qs, int kb0, int kb1, int r0, int r1, float[] bp, int bOff, int[] qOff,
                          float[] cbuf, int cOff) {
        denseSlab(a, 0, null, rs, qs, kb0, kb1, r0, r1, bp, bOff, qOff, cbuf, cOff);
    }

    /**
     * Like {@link #denseSlab(float[], int, int, int, int, int, int, float[], int, int[], float[], int)} with A's
     * row r starting at {@code a[aBase + aRow[r]]} (rows of a padded image: the direct weight gradient) instead of
     * {@code a[r * rs]} when {@code aRow} is non-null.
     */
    static void denseSlab(float[] a, int aBase, int[] aRow, int rs, int qs, int kb0, int kb1, int r0, int r1, float[] bp,
                          int bOff, int[] qOff, float[] cbuf, int cOff) {
        int r = r0;
        for (; r + MR <= r1; r += MR) {
            int co = cOff + (r - r0) * PD;
            FloatVector c00 = FloatVector.fromArray(S, cbuf, co);
            FloatVector c01 = FloatVector.fromArray(S, cbuf, co + L);
            FloatVector c10 = FloatVector.fromArray(S, cbuf, co + PD);
            FloatVector c11 = FloatVector.fromArray(S, cbuf, co + PD + L);
            FloatVector c20 = FloatVector.fromArray(S, cbuf, co + 2 * PD);
            FloatVector c21 = FloatVector.fromArray(S, cbuf, co + 2 * PD + L);
            FloatVector c30 = FloatVector.fromArray(S, cbuf, co + 3 * PD);
            FloatVector c31 = FloatVector.fromArray(S, cbuf, co + 3 * PD + L);
            FloatVector c40 = FloatVector.fromArray(S, cbuf, co + 4 * PD);
            FloatVector c41 = FloatVector.fromArray(S, cbuf, co + 4 * PD + L);
            FloatVector c50 = FloatVector.fromArray(S, cbuf, co + 5 * PD);
            FloatVector c51 = FloatVector.fromArray(S, cbuf, co + 5 * PD + L);
            FloatVector c60 = FloatVector.fromArray(S, cbuf, co + 6 * PD);
            FloatVector c61 = FloatVector.fromArray(S, cbuf, co + 6 * PD + L);
            FloatVector c70 = FloatVector.fromArray(S, cbuf, co + 7 * PD);
            FloatVector c71 = FloatVector.fromArray(S, cbuf, co + 7 * PD + L);
            int a0 = aRow == null ? r * rs : aBase + aRow[r];
            int a1 = aRow == null ? a0 + rs : aBase + aRow[r + 1];
            int a2 = aRow == null ? a1 + rs : aBase + aRow[r + 2];
            int a3 = aRow == null ? a2 + rs : aBase + aRow[r + 3];
            int a4 = aRow == null ? a3 + rs : aBase + aRow[r + 4];
            int a5 = aRow == null ? a4 + rs : aBase + aRow[r + 5];
            int a6 = aRow == null ? a5 + rs : aBase + aRow[r + 6];
            int a7 = aRow == null ? a6 + rs : aBase + aRow[r + 7];
            for (int q = kb0; q < kb1; q++) {
                int bo = bOff + qOff[q];
                int aq = q * qs;
                FloatVector b0 = FloatVector.fromArray(S, bp, bo);
                FloatVector b1 = FloatVector.fromArray(S, bp, bo + L);
                FloatVector w = FloatVector.broadcast(S, a[a0 + aq]);
                c00 = b0.fma(w, c00);
                c01 = b1.fma(w, c01);
                w = FloatVector.broadcast(S, a[a1 + aq]);
                c10 = b0.fma(w, c10);
                c11 = b1.fma(w, c11);
                w = FloatVector.broadcast(S, a[a2 + aq]);
                c20 = b0.fma(w, c20);
                c21 = b1.fma(w, c21);
                w = FloatVector.broadcast(S, a[a3 + aq]);
                c30 = b0.fma(w, c30);
                c31 = b1.fma(w, c31);
                w = FloatVector.broadcast(S, a[a4 + aq]);
                c40 = b0.fma(w, c40);
                c41 = b1.fma(w, c41);
                w = FloatVector.broadcast(S, a[a5 + aq]);
                c50 = b0.fma(w, c50);
                c51 = b1.fma(w, c51);
                w = FloatVector.broadcast(S, a[a6 + aq]);
                c60 = b0.fma(w, c60);
                c61 = b1.fma(w, c61);
                w = FloatVector.broadcast(S, a[a7 + aq]);
                c70 = b0.fma(w, c70);
                c71 = b1.fma(w, c71);
            }
            c00.intoArray(cbuf, co);
            c01.intoArray(cbuf, co + L);
            c10.intoArray(cbuf, co + PD);
            c11.intoArray(cbuf, co + PD + L);
            c20.intoArray(cbuf, co + 2 * PD);
            c21.intoArray(cbuf, co + 2 * PD + L);
            c30.intoArray(cbuf, co + 3 * PD);
            c31.intoArray(cbuf, co + 3 * PD + L);
            c40.intoArray(cbuf, co + 4 * PD);
            c41.intoArray(cbuf, co + 4 * PD + L);
            c50.intoArray(cbuf, co + 5 * PD);
            c51.intoArray(cbuf, co + 5 * PD + L);
            c60.intoArray(cbuf, co + 6 * PD);
            c61.intoArray(cbuf, co + 6 * PD + L);
            c70.intoArray(cbuf, co + 7 * PD);
            c71.intoArray(cbuf, co + 7 * PD + L);
        }
        for (; r < r1; r++) { // row tail
            int co = cOff + (r - r0) * PD;
            FloatVector c0 = FloatVector.fromArray(S, cbuf, co);
            FloatVector c1 = FloatVector.fromArray(S, cbuf, co + L);
            int a0 = aRow == null ? r * rs : aBase + aRow[r];
            for (int q = kb0; q < kb1; q++) {
                int bo = bOff + qOff[q];
                FloatVector w = FloatVector.broadcast(S, a[a0 + q * qs]);
                c0 = FloatVector.fromArray(S, bp, bo).fma(w, c0);
                c1 = FloatVector.fromArray(S, bp, bo + L).fma(w, c1);
            }
            c0.intoArray(cbuf, co);
            c1.intoArray(cbuf, co + L);
        }
    }

    // ---------------------------------------------------------------- direct convolution

    @Override
    public boolean directForward(Conv2dShape s) {
        return DirectConv.supportsForward(s);
    }

    @Override
    public boolean directBackwardInput(Conv2dShape s) {
        return DirectConv.supportsBackwardInput(s);
    }

    @Override
    public void directForward(Conv2dShape s, float[] input, float[] weight, float[] output) {
        checkDirect(s, directForward(s), weight.length, input, s.inputSize(), output, s.outputSize());
        DirectConv.forward(s, input, weight, output, threads());
    }

    @Override
    public void directForward(Conv2dShape s, float[] input, NmMatrix weight, float[] output) {
        checkDirect(s, directForward(s), directWeight(s, weight), input, s.inputSize(), output, s.outputSize());
        DirectConv.forward(s, input, weight, output, threads());
    }

    @Override
    public void directBackwardInput(Conv2dShape s, float[] dOut, float[] weight, float[] dInput) {
        checkDirect(s, directBackwardInput(s), weight.length, dOut, s.outputSize(), dInput, s.inputSize());
        DirectConv.backwardInput(s, dOut, weight, dInput, threads());
    }

    @Override
    public void directBackwardInput(Conv2dShape s, float[] dOut, NmMatrix weight, float[] dInput) {
        checkDirect(s, directBackwardInput(s), directWeight(s, weight), dOut, s.outputSize(), dInput, s.inputSize());
        DirectConv.backwardInput(s, dOut, weight, dInput, threads());
    }

    @Override
    public boolean directBackwardWeight(Conv2dShape s) {
        return DirectConv.supportsForward(s);
    }

    @Override
    public void directBackwardWeight(Conv2dShape s, float[] input, float[] dOut, float[] dw) {
        checkDirect(s, directBackwardWeight(s), dw.length, input, s.inputSize(), dOut, s.outputSize());
        if (DirectNmWeightGrad.supports(s) && route(DW_DENSE_GROUPED_PROPERTY, s.outChannels() <= L)) {
            DirectNmWeightGrad.runDense(s, input, dOut, dw, threads());
        } else {
            DirectConv.backwardWeight(s, input, dOut, dw, threads());
        }
    }

    @Override
    public boolean directBackwardWeight(Conv2dShape s, NmMatrix weight) {
        s.checkWeight(weight);
        return DirectNmWeightGrad.supports(s) && route(DW_DIRECT_GROUPED_PROPERTY, s.outChannels() <= DW_DIRECT_GROUPED_MAX_ROWS);
    }

    @Override
    public void directBackwardWeight(Conv2dShape s, float[] input, float[] dOut, NmMatrix weight, float[] dwSlots) {
        checkDirect(s, directBackwardWeight(s, weight), directWeight(s, weight), input, s.inputSize(), dOut, s.outputSize());
        GemmKernels.checkLength("dwSlots", dwSlots, weight.slots());
        DirectNmWeightGrad.run(s, input, dOut, weight, dwSlots, threads());
    }

    private static long directWeight(Conv2dShape s, NmMatrix weight) {
        s.checkWeight(weight);
        return s.weightSize();
    }

    private static void checkDirect(Conv2dShape s, boolean supported, long weightSize, float[] in, long inSize,
                                    float[] out, long outSize) {
        if (!supported) {
            throw new IllegalArgumentException("no direct convolution for " + s + " (it needs stride 1 and, for the"
                    + " input gradient, padding within the kernel's reach)");
        }
        if (weightSize != s.weightSize()) {
            throw new IllegalArgumentException("weight has " + weightSize + " values, expected " + s.weightSize() + " for " + s);
        }
        GemmKernels.checkLength("in", in, inSize);
        GemmKernels.checkLength("out", out, outSize);
    }

    // ---------------------------------------------------------------- pre-packed X

    @Override
    public int[] panelPlan(int cols, boolean nm) {
        return panels(cols, nm);
    }

    /** {@link #panelPlan}: pairs (first column, width in columns), N:M panels of 1-8 vectors or dense PD-wide ones. */
    static int[] panels(int cols, boolean nm) {
        if (nm) {
            int[] plan = nmPanels(cols);
            for (int p = 1; p < plan.length; p += 2) {
                plan[p] *= L; // vectors -> columns
            }
            return plan;
        }
        int panels = (cols + PD - 1) / PD;
        int[] plan = new int[2 * panels];
        for (int p = 0; p < panels; p++) {
            plan[2 * p] = p * PD;
            plan[2 * p + 1] = PD;
        }
        return plan;
    }

    @Override
    public int alignedOffset() {
        return Workspace.ALIGN;
    }

    @Override
    public void gemmPacked(float[] a, int m, int k, float[] packed, int off, int[] plan, float[] c, int n) {
        GemmKernels.checkLength("a", a, (long) m * k);
        GemmKernels.checkLength("y", c, (long) m * n);
        checkPlan(plan, n, false);
        GemmKernels.checkLength("packed", packed, off + (long) PackedProducts.packedColumns(plan) * k);
        int panels = plan.length / 2;
        KernelThreads t = threads();
        int chunk = rowChunk(m, panels, t.threads(), MR);
        int chunks = (m + chunk - 1) / chunk;
        int[] rowsPd = panelRows(k);
        t.parallelFor(panels * chunks, task -> {
            int p = task / chunks;
            int c0 = plan[2 * p];
            int r0 = (task % chunks) * chunk;
            int r1 = Math.min(m, r0 + chunk);
            Workspace ws = WORKSPACE.get();
            int accFloats = (r1 - r0) * PD;
            float[] cbuf = ws.acc(0, accFloats);
            int cOff = ws.accOffset(0, accFloats);
            Arrays.fill(cbuf, cOff, cOff + accFloats, 0f);
            for (int kb0 = 0; kb0 < k; kb0 += KD) {
                int kb1 = Math.min(k, kb0 + KD);
                denseSlab(a, k, 1, kb0, kb1, r0, r1, packed, off + c0 * k, rowsPd, cbuf, cOff);
            }
            unpackPanel(cbuf, cOff, PD, r0, r1, c, n, c0);
        });
    }

    @Override
    public void nmForwardPacked(NmMatrix w, float[] packed, int off, int[] plan, float[] y, int cols) {
        GemmKernels.checkLength("y", y, (long) w.rows() * cols);
        checkPlan(plan, cols, true);
        int k = w.k();
        GemmKernels.checkLength("packed", packed, off + (long) PackedProducts.packedColumns(plan) * k);
        NmLayout l = w.layout();
        packedGather(l.rowGather(KB), k, packed, off, plan, y, cols);
    }

    /** The gather product on pre-packed panels (plan in columns). */
    private void packedGather(NmLayout.Gather g, int k, float[] packed, int off, int[] plan, float[] y, int cols) {
        int nOut = g.outputs();
        int[] ptr = g.ptr();
        byte[] idx = g.idx();
        float[] val = g.val();
        int panels = plan.length / 2;
        KernelThreads t = threads();
        int chunk = rowChunk(nOut, panels, t.threads(), NmLayout.LOCKSTEP_ROWS);
        int chunks = (nOut + chunk - 1) / chunk;
        int nb = g.blocks();
        t.parallelFor(panels * chunks, task -> {
            int p = task / chunks;
            int c0 = plan[2 * p];
            int v = plan[2 * p + 1] / L;
            int pw = v * L;
            int o0 = (task % chunks) * chunk;
            int o1 = Math.min(nOut, o0 + chunk);
            Workspace ws = WORKSPACE.get();
            int accFloats = (o1 - o0) * pw;
            float[] ybuf = ws.acc(0, accFloats);
            int yoff = ws.accOffset(0, accFloats);
            Arrays.fill(ybuf, yoff, yoff + accFloats, 0f);
            for (int b = 0; b < nb; b++) {
                int bo = off + c0 * k + b * KB * pw; // the block's first panel row
                int pb = g.blockBase(b);
                switch (v) {
                    case 8 -> NmGatherKernels.gather8(ptr, pb, idx, val, o0, o1, bo, packed, ybuf, yoff);
                    case 4 -> NmGatherKernels.gather4(ptr, pb, idx, val, o0, o1, bo, packed, ybuf, yoff);
                    case 2 -> NmGatherKernels.gather2(ptr, pb, idx, val, o0, o1, bo, packed, ybuf, yoff);
                    default -> NmGatherKernels.gather1(ptr, pb, idx, val, o0, o1, bo, packed, ybuf, yoff);
                }
            }
            unpackPanel(ybuf, yoff, pw, o0, o1, y, cols, c0);
        });
    }

    /** Caller-thread array for operands packed once and shared by all tasks (humongous: aligned). */
    private static final ThreadLocal<float[]> SHARED_PACK = new ThreadLocal<>();

    static float[] sharedPack(int size) {
        float[] a = SHARED_PACK.get();
        if (a == null || a.length < size) {
            a = new float[Math.max(Workspace.FLOATS, size)];
            SHARED_PACK.set(a);
        }
        return a;
    }

    private void checkPlan(int[] plan, int cols, boolean nm) {
        if (!Arrays.equals(plan, panels(cols, nm))) {
            throw new IllegalArgumentException("panel plan does not match panelPlan(" + cols + ", " + nm + ")");
        }
    }

    // ---------------------------------------------------------------- N:M

    @Override
    public void nmForward(NmMatrix w, float[] x, float[] y, int cols) {
        GemmKernels.checkNm(w, x, w.k(), y, w.rows(), cols, "x", "y");
        NmLayout l = w.layout();
        gatherProduct(l.rowGather(KB), w.k(), x, y, cols);
    }

    @Override
    public void nmBackwardInput(NmMatrix w, float[] dy, float[] dx, int cols) {
        GemmKernels.checkNm(w, dy, w.rows(), dx, w.k(), cols, "dy", "dx");
        gatherProduct(w.layout().colGather(KB), w.rows(), dy, dx, cols);
    }

    /**
     * Column panels for the N:M products: full panels of VMAX vectors, then narrower ones for the
     * remaining columns (so that e.g. 49 or 196 columns do not pay for a 128-wide panel).
     * Returns pairs (first column, vectors).
     */
    static int[] nmPanels(int cols) {
        int[] plan = new int[2 * ((cols + L - 1) / L)];
        int n = 0;
        int c = 0;
        while (c < cols) {
            int rest = cols - c;
            int v = rest > 6 * L ? VMAX : rest > 2 * L ? 4 : rest > L ? 2 : 1;
            plan[n++] = c;
            plan[n++] = v;
            c += v * L;
        }
        return Arrays.copyOf(plan, n);
    }

    /**
     * out [nOut, cols] = A * in [inner, cols] for a sparse matrix A in the block-major gather layout
     * (blocks of KB inner indices; see {@link NmLayout.Gather}).
     */
    private void gatherProduct(NmLayout.Gather g, int inner, float[] in, float[] out, int cols) {
        int nOut = g.outputs();
        int[] ptr = g.ptr();
        byte[] idx = g.idx();
        float[] val = g.val();
        int[] plan = nmPanels(cols);
        int panels = plan.length / 2;
        KernelThreads t = threads();
        int chunk = rowChunk(nOut, panels, t.threads(), NmLayout.LOCKSTEP_ROWS);
        int chunks = (nOut + chunk - 1) / chunk;
        int nb = g.blocks();
        if (chunks > 1) {
            // few column panels, rows split across tasks: pack X once for all of them
            int[] wplan = panelPlan(cols, true);
            int off = Workspace.ALIGN;
            float[] packed = sharedPack(off + PackedProducts.packedColumns(wplan) * inner);
            t.parallelFor(panels * nb, task -> {
                int p = task / nb;
                int b = task % nb;
                int c0 = wplan[2 * p];
                int w = wplan[2 * p + 1];
                packSlab(in, cols, b * KB, Math.min(inner, b * KB + KB), c0, w, packed, off + c0 * inner + b * KB * w);
            });
            packedGather(g, inner, packed, off, wplan, out, cols);
            return;
        }
        t.parallelFor(panels * chunks, task -> {
            int p = task / chunks;
            int c0 = plan[2 * p];
            int v = plan[2 * p + 1];
            int pw = v * L;
            int o0 = (task % chunks) * chunk;
            int o1 = Math.min(nOut, o0 + chunk);
            Workspace ws = WORKSPACE.get();
            float[] xp = ws.data;
            int accFloats = (o1 - o0) * pw;
            float[] ybuf = ws.acc(KB * pw, accFloats);
            int yoff = ws.accOffset(KB * pw, accFloats);
            Arrays.fill(ybuf, yoff, yoff + accFloats, 0f);
            for (int b = 0; b < nb; b++) {
                int kb0 = b * KB;
                int kb1 = Math.min(inner, kb0 + KB);
                packSlab(in, cols, kb0, kb1, c0, pw, xp, ws.slab());
                int bo = ws.slab(); // the slab holds just this block
                int pb = g.blockBase(b);
                switch (v) {
                    case 8 -> NmGatherKernels.gather8(ptr, pb, idx, val, o0, o1, bo, xp, ybuf, yoff);
                    case 4 -> NmGatherKernels.gather4(ptr, pb, idx, val, o0, o1, bo, xp, ybuf, yoff);
                    case 2 -> NmGatherKernels.gather2(ptr, pb, idx, val, o0, o1, bo, xp, ybuf, yoff);
                    default -> NmGatherKernels.gather1(ptr, pb, idx, val, o0, o1, bo, xp, ybuf, yoff);
                }
            }
            unpackPanel(ybuf, yoff, pw, o0, o1, out, cols, c0);
        });
    }

    /**
     * Weight gradient at the kept positions: above {@link #DW_SAMPLED_MIN_COLS} columns the
     * sampled product on packed, L1-resident slabs ({@link #nmBackwardWeightSampled}), otherwise
     * the dense product followed by a gather ({@link #nmBackwardWeightViaDense}).
     *
     * <p>Sampled: dY is packed once into column panels of up to {@link #dwPanelVectors} vectors
     * (zero-padded, aligned); a task is one reduction block of {@link #dwBlock} K positions x a
     * chunk of rows; it packs the X slab of each panel into its workspace (each slab once per row
     * chunk) and runs the micro-kernels of {@link NmWeightGradKernels} over its rows: vector
     * partial sums in a lane buffer across panels, one reduction tree per 16 entries at the last.
     */
    @Override
    public void nmBackwardWeight(NmMatrix w, float[] dy, float[] x, int cols, float[] dwSlots) {
        GemmKernels.checkNm(w, x, w.k(), dy, w.rows(), cols, "x", "dy");
        GemmKernels.checkLength("dwSlots", dwSlots, w.slots());
        if (dwGrouped(w.rows(), cols)) {
            NmGroupedWeightGrad.run(w, dy, x, cols, dwSlots, threads());
            return;
        }
        if (!NmWeightGradKernels.SUPPORTED || cols <= DW_SAMPLED_MIN_COLS) {
            nmBackwardWeightViaDense(w, dy, x, cols, dwSlots);
            return;
        }
        nmBackwardWeightSampled(w, dy, x, cols, dwSlots);
    }

    /**
     * The sampled weight-gradient kernel whatever the column count (the benchmarks and tests call
     * it directly; {@link #nmBackwardWeight} uses it above {@link #DW_SAMPLED_MIN_COLS} columns).
     */
    public void nmBackwardWeightSampled(NmMatrix w, float[] dy, float[] x, int cols, float[] dwSlots) {
        GemmKernels.checkNm(w, x, w.k(), dy, w.rows(), cols, "x", "dy");
        GemmKernels.checkLength("dwSlots", dwSlots, w.slots());
        if (!NmWeightGradKernels.SUPPORTED) {
            nmBackwardWeightViaDense(w, dy, x, cols, dwSlots);
            return;
        }
        int rows = w.rows();
        int k = w.k();
        int bs = dwBlock(w.format().n(), w.format().m());
        int vmax = dwPanelVectors(bs);
        NmLayout.WeightGradLayout l = w.layout().weightGradLayout(bs, NmWeightGradKernels.G);
        int nb = l.blocks();
        int[] ptr = l.ptr();
        int[] idx = l.idx();
        int[] slot = l.slot();
        int vecs = (cols + L - 1) / L;
        int panels = (vecs + vmax - 1) / vmax;
        int dyOff = Workspace.ALIGN;
        float[] dyp = sharedPack(dyOff + rows * vecs * L);
        KernelThreads t = threads();
        // dY [rows, cols] packed once into panels (panel p at c0 * rows, rows of pw floats), read
        // once per reduction block; X is packed slab by slab inside the tasks (each slab once)
        int yTasks = (rows + KB - 1) / KB;
        t.parallelFor(panels * yTasks, task -> {
            int p = task / yTasks;
            int r0 = (task % yTasks) * KB;
            int c0 = p * vmax * L;
            int pw = Math.min(vmax, vecs - p * vmax) * L;
            packSlab(dy, cols, r0, Math.min(rows, r0 + KB), c0, pw, dyp, dyOff + c0 * rows + r0 * pw);
        });
        boolean direct = l.identity();
        float[] out = direct ? dwSlots : buffer(3, idx.length);
        if (direct) {
            Arrays.fill(dwSlots, idx.length, w.slots(), 0f); // slots past the last real entry
        } else {
            Arrays.fill(dwSlots, 0, w.slots(), 0f);
        }
        // rows per task: the lane buffer (16 floats per entry of the block) stays in L2
        int lbRow = l.maxPerBlock() * L;
        int chunk = panels == 1 || lbRow == 0 ? rows : Math.max(1, Math.min(rows, LB_W / lbRow));
        if (nb < 2 * t.threads() && t.threads() > 1) {
            chunk = Math.min(chunk, Math.max(16, (rows + 1) / 2));
        }
        int rowChunk = chunk;
        int chunks = (rows + chunk - 1) / chunk;
        int slabFloats = bs * vmax * L;
        t.parallelFor(nb * chunks, task -> {
            int b = task / chunks;
            int r0 = (task % chunks) * rowChunk;
            int r1 = Math.min(rows, r0 + rowChunk);
            Workspace ws = WORKSPACE.get();
            float[] xp = ws.data;
            int lbFloats = (r1 - r0) * lbRow;
            float[] lb = ws.acc(slabFloats, lbFloats);
            int lbOff = ws.accOffset(slabFloats, lbFloats);
            int k0 = b * bs;
            int k1 = Math.min(k, k0 + bs);
            for (int p = 0; p < panels; p++) {
                int c0 = p * vmax * L;
                int v = Math.min(vmax, vecs - p * vmax);
                packSlab(x, cols, k0, k1, c0, v * L, xp, ws.slab());
                int xBase = ws.slab() - k0 * v * L;
                int dyBase = dyOff + c0 * rows;
                boolean first = p == 0;
                if (p < panels - 1) {
                    switch (v) {
                        case 8 -> NmWeightGradKernels.acc8(r0, r1, b, nb, ptr, idx, xp, xBase, dyp, dyBase, lb, lbOff, lbRow, first);
                        case 7 -> NmWeightGradKernels.acc7(r0, r1, b, nb, ptr, idx, xp, xBase, dyp, dyBase, lb, lbOff, lbRow, first);
                        case 6 -> NmWeightGradKernels.acc6(r0, r1, b, nb, ptr, idx, xp, xBase, dyp, dyBase, lb, lbOff, lbRow, first);
                        case 5 -> NmWeightGradKernels.acc5(r0, r1, b, nb, ptr, idx, xp, xBase, dyp, dyBase, lb, lbOff, lbRow, first);
                        case 4 -> NmWeightGradKernels.acc4(r0, r1, b, nb, ptr, idx, xp, xBase, dyp, dyBase, lb, lbOff, lbRow, first);
                        case 3 -> NmWeightGradKernels.acc3(r0, r1, b, nb, ptr, idx, xp, xBase, dyp, dyBase, lb, lbOff, lbRow, first);
                        case 2 -> NmWeightGradKernels.acc2(r0, r1, b, nb, ptr, idx, xp, xBase, dyp, dyBase, lb, lbOff, lbRow, first);
                        default -> NmWeightGradKernels.acc1(r0, r1, b, nb, ptr, idx, xp, xBase, dyp, dyBase, lb, lbOff, lbRow, first);
                    }
                } else {
                    switch (v) {
                        case 8 -> NmWeightGradKernels.tree8(r0, r1, b, nb, ptr, idx, xp, xBase, dyp, dyBase, lb, lbOff, lbRow, first, out);
                        case 7 -> NmWeightGradKernels.tree7(r0, r1, b, nb, ptr, idx, xp, xBase, dyp, dyBase, lb, lbOff, lbRow, first, out);
                        case 6 -> NmWeightGradKernels.tree6(r0, r1, b, nb, ptr, idx, xp, xBase, dyp, dyBase, lb, lbOff, lbRow, first, out);
                        case 5 -> NmWeightGradKernels.tree5(r0, r1, b, nb, ptr, idx, xp, xBase, dyp, dyBase, lb, lbOff, lbRow, first, out);
                        case 4 -> NmWeightGradKernels.tree4(r0, r1, b, nb, ptr, idx, xp, xBase, dyp, dyBase, lb, lbOff, lbRow, first, out);
                        case 3 -> NmWeightGradKernels.tree3(r0, r1, b, nb, ptr, idx, xp, xBase, dyp, dyBase, lb, lbOff, lbRow, first, out);
                        case 2 -> NmWeightGradKernels.tree2(r0, r1, b, nb, ptr, idx, xp, xBase, dyp, dyBase, lb, lbOff, lbRow, first, out);
                        default -> NmWeightGradKernels.tree1(r0, r1, b, nb, ptr, idx, xp, xBase, dyp, dyBase, lb, lbOff, lbRow, first, out);
                    }
                }
            }
            if (!direct) {
                for (int r = r0; r < r1; r++) {
                    for (int e = ptr[r * nb + b]; e < ptr[r * nb + b + 1]; e++) {
                        if (slot[e] >= 0) {
                            dwSlots[slot[e]] = out[e];
                        }
                    }
                }
            }
        });
    }

    /**
     * The pattern-grouped weight-gradient kernel ({@link NmGroupedWeightGrad}): the rows of each
     * group of M positions partitioned by kept pattern ({@link NmLayout#groupedLayout()}, once per
     * mask), each block of rows with the same pattern computed like a dense register block (the
     * pattern's N rows of X shared by the block's rows, each dY vector by the row's N positions).
     * Routed by {@link #nmBackwardWeight} by shape (see {@link #DW_GROUPED_PROPERTY}): it measured 1.3-1.5x the dense
     * product on many columns (784-3136 with 64-128 rows) but 0.3-0.7x on 49-1024 columns or 256-1024 rows,
     * where the dY panel reread from L2 for every group bounds it (BENCHMARKS.md).
     */
    public void nmBackwardWeightGrouped(NmMatrix w, float[] dy, float[] x, int cols, float[] dwSlots) {
        GemmKernels.checkNm(w, x, w.k(), dy, w.rows(), cols, "x", "dy");
        GemmKernels.checkLength("dwSlots", dwSlots, w.slots());
        NmGroupedWeightGrad.run(w, dy, x, cols, dwSlots, threads());
    }

    /**
     * K positions per reduction block of the weight gradient: a full block holds a multiple of 16
     * kept entries per row (2:4: 32 -> 16 entries) doubled while it stays <= 64 (2:4: 64 -> 32).
     */
    static int dwBlock(int n, int m) {
        int g = NmWeightGradKernels.G;
        int bs = m * (g / gcd(n, g));
        while (bs * 2 <= 64) {
            bs *= 2;
        }
        return bs;
    }

    /** Widest weight-gradient panel (vectors): the bs x pw slab stays <= 32 KiB, at most 8 dY registers. */
    static int dwPanelVectors(int bs) {
        return Math.max(1, Math.min(8, 32 * 1024 / (bs * L * Float.BYTES)));
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    /**
     * The former weight-gradient route, kept for comparison in the benchmarks and as the fallback:
     * the dense product dY * X^T, then a gather of the kept entries.
     */
    public void nmBackwardWeightViaDense(NmMatrix w, float[] dy, float[] x, int cols, float[] dwSlots) {
        GemmKernels.checkNm(w, x, w.k(), dy, w.rows(), cols, "x", "dy");
        GemmKernels.checkLength("dwSlots", dwSlots, w.slots());
        int rows = w.rows();
        int k = w.k();
        float[] full = buffer(3, rows * k);
        dense(dy, cols, 1, x, true, rows, cols, k, (cbuf, cOff, r0, r1, c0) -> unpackPanel(cbuf, cOff, PD, r0, r1, full, k, c0));
        NmLayout l = w.layout();
        int[] rowPtr = l.rowPtr();
        int[] idx = l.kIndex();
        int[] slot = l.rowSlot();
        Arrays.fill(dwSlots, 0, w.slots(), 0f);
        KernelThreads t = threads();
        int chunk = Math.max(16, (rows + 4 * t.threads() - 1) / (4 * t.threads()));
        t.parallelFor((rows + chunk - 1) / chunk, task -> {
            for (int r = task * chunk; r < Math.min(rows, (task + 1) * chunk); r++) {
                int o = r * k;
                for (int e = rowPtr[r]; e < rowPtr[r + 1]; e++) {
                    dwSlots[slot[e]] = full[o + idx[e]];
                }
            }
        });
    }

    /**
     * The sampled dense-dense product (SDDMM) form of {@link #nmBackwardWeight}: only the kept
     * dot products, each over the columns in blocks of CB_W. Kept for comparison in the benchmarks.
     */
    public void nmBackwardWeightSddmm(NmMatrix w, float[] dy, float[] x, int cols, float[] dwSlots) {
        GemmKernels.checkNm(w, x, w.k(), dy, w.rows(), cols, "x", "dy");
        GemmKernels.checkLength("dwSlots", dwSlots, w.slots());
        NmLayout l = w.layout();
        int rows = w.rows();
        int k = w.k();
        Arrays.fill(dwSlots, 0, w.slots(), 0f);
        int[] bptr = l.rowBlockPtr(KB_W);
        int nb = (k + KB_W - 1) / KB_W;
        int[] idx = l.kIndex();
        int[] slot = l.rowSlot();
        KernelThreads t = threads();
        int chunk = Math.max(1, Math.min(RB_W, (rows + 2 * t.threads() - 1) / (2 * t.threads())));
        int chunks = (rows + chunk - 1) / chunk;
        t.parallelFor(chunks, task -> {
            int r0 = task * chunk;
            int r1 = Math.min(rows, r0 + chunk);
            for (int cb0 = 0; cb0 < cols; cb0 += CB_W) {
                int cb1 = Math.min(cols, cb0 + CB_W);
                for (int b = 0; b < nb; b++) {
                    for (int r = r0; r < r1; r++) {
                        sddmmRow(idx, slot, bptr[r * (nb + 1) + b], bptr[r * (nb + 1) + b + 1], dy, r * cols, x, cols, cb0, cb1, dwSlots);
                    }
                }
            }
        });
    }

    /**
     * dwSlots[slot[e]] += dot(dy[dyo + cb0 : dyo + cb1], x[idx[e] * cols + cb0 : ... + cb1]) for
     * the entries [e0, e1) of one row: 8 entries at a time, each with its own accumulator, the dY
     * vector loaded once for all 8; one lane reduction per entry per column block.
     */
    static void sddmmRow(int[] idx, int[] slot, int e0, int e1, float[] dy, int dyo, float[] x, int cols,
                         int cb0, int cb1, float[] dwSlots) {
        int vEnd = cb0 + (cb1 - cb0) / L * L;
        int e = e0;
        for (; e <= e1 - 8; e += 8) {
            int x0 = idx[e] * cols;
            int x1 = idx[e + 1] * cols;
            int x2 = idx[e + 2] * cols;
            int x3 = idx[e + 3] * cols;
            int x4 = idx[e + 4] * cols;
            int x5 = idx[e + 5] * cols;
            int x6 = idx[e + 6] * cols;
            int x7 = idx[e + 7] * cols;
            FloatVector s0 = FloatVector.zero(S);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            FloatVector s4 = s0;
            FloatVector s5 = s0;
            FloatVector s6 = s0;
            FloatVector s7 = s0;
            for (int c = cb0; c < vEnd; c += L) {
                FloatVector d = FloatVector.fromArray(S, dy, dyo + c);
                s0 = d.fma(FloatVector.fromArray(S, x, x0 + c), s0);
                s1 = d.fma(FloatVector.fromArray(S, x, x1 + c), s1);
                s2 = d.fma(FloatVector.fromArray(S, x, x2 + c), s2);
                s3 = d.fma(FloatVector.fromArray(S, x, x3 + c), s3);
                s4 = d.fma(FloatVector.fromArray(S, x, x4 + c), s4);
                s5 = d.fma(FloatVector.fromArray(S, x, x5 + c), s5);
                s6 = d.fma(FloatVector.fromArray(S, x, x6 + c), s6);
                s7 = d.fma(FloatVector.fromArray(S, x, x7 + c), s7);
            }
            float t0 = s0.reduceLanes(VectorOperators.ADD);
            float t1 = s1.reduceLanes(VectorOperators.ADD);
            float t2 = s2.reduceLanes(VectorOperators.ADD);
            float t3 = s3.reduceLanes(VectorOperators.ADD);
            float t4 = s4.reduceLanes(VectorOperators.ADD);
            float t5 = s5.reduceLanes(VectorOperators.ADD);
            float t6 = s6.reduceLanes(VectorOperators.ADD);
            float t7 = s7.reduceLanes(VectorOperators.ADD);
            for (int c = vEnd; c < cb1; c++) { // column tail
                float d = dy[dyo + c];
                t0 += d * x[x0 + c];
                t1 += d * x[x1 + c];
                t2 += d * x[x2 + c];
                t3 += d * x[x3 + c];
                t4 += d * x[x4 + c];
                t5 += d * x[x5 + c];
                t6 += d * x[x6 + c];
                t7 += d * x[x7 + c];
            }
            dwSlots[slot[e]] += t0;
            dwSlots[slot[e + 1]] += t1;
            dwSlots[slot[e + 2]] += t2;
            dwSlots[slot[e + 3]] += t3;
            dwSlots[slot[e + 4]] += t4;
            dwSlots[slot[e + 5]] += t5;
            dwSlots[slot[e + 6]] += t6;
            dwSlots[slot[e + 7]] += t7;
        }
        for (; e < e1; e++) { // entry tail
            int x0 = idx[e] * cols;
            FloatVector s0 = FloatVector.zero(S);
            for (int c = cb0; c < vEnd; c += L) {
                s0 = FloatVector.fromArray(S, dy, dyo + c).fma(FloatVector.fromArray(S, x, x0 + c), s0);
            }
            float t0 = s0.reduceLanes(VectorOperators.ADD);
            for (int c = vEnd; c < cb1; c++) {
                t0 += dy[dyo + c] * x[x0 + c];
            }
            dwSlots[slot[e]] += t0;
        }
    }
}
