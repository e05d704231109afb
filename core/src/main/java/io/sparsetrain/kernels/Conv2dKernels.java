package io.sparsetrain.kernels;

import java.util.Arrays;
import java.util.Objects;

/**
 * 2-D convolution (NCHW, stride, padding, dilation) as im2col + matrix product, dense or N:M; stride-1 forwards,
 * input gradients and dense weight gradients go through the kernels' direct path instead when they have one
 * ({@link DirectConvolutions}: the
 * vector kernels read a zero-padded copy of the operand in place, no im2col buffer), unless switched off by
 * {@link #withoutDirect()} or {@code -Dsparsetrain.kernels.directConv=false}.
 *
 * <p>Forward: the input [B, Cin, H, W] is unfolded into columns [K = Cin*kh*kw, B*Ho*Wo], multiplied
 * by W [Cout, K] and the product [Cout, B*Ho*Wo] is written back as [B, Cout, Ho, Wo]. Input
 * gradient: W^T * dY, folded back with col2im. Weight gradient: dY * columns^T, for N:M only at the
 * kept positions. The batch is processed in chunks so that the column buffer stays below
 * {@link #MAX_COLUMN_FLOATS} floats. Bias and activation belong to the layer, not here.
 */
public final class Conv2dKernels {

    /** Largest im2col buffer (floats) before the batch is split into chunks: 32 MiB. */
    public static final int MAX_COLUMN_FLOATS = 1 << 23;

    private static final ThreadLocal<float[][]> WORKSPACE = ThreadLocal.withInitial(() -> new float[3][]);

    private final GemmKernels gemm;
    private final KernelThreads threads;
    private final boolean direct;

    public Conv2dKernels(GemmKernels gemm, KernelThreads threads) {
        this(gemm, threads, true);
    }

    private Conv2dKernels(GemmKernels gemm, KernelThreads threads, boolean direct) {
        this.gemm = Objects.requireNonNull(gemm, "gemm");
        this.threads = Objects.requireNonNull(threads, "threads");
        this.direct = direct;
    }

    /** The same kernels with every forward and gradient through im2col (for side-by-side comparisons). */
    public Conv2dKernels withoutDirect() {
        return new Conv2dKernels(gemm, threads, false);
    }

    /** Convolutions on the start-up kernels and the shared pool. */
    public static Conv2dKernels get() {
        return new Conv2dKernels(KernelProvider.get(), KernelThreads.shared());
    }

    public GemmKernels gemm() {
        return gemm;
    }

    // ------------------------------------------------------------ im2col / col2im

    /**
     * Unfolds images [b0, b1) of {@code input} into {@code cols} [K, (b1 - b0) * Ho * Wo]; row
     * (ci, ky, kx), column (b - b0, oy, ox). Positions in the padding read 0.
     */
    public void im2col(Conv2dShape s, float[] input, int b0, int b1, float[] cols) {
        int hw = s.outHeight() * s.outWidth();
        int n = (b1 - b0) * hw;
        int kk = s.kernelH() * s.kernelW();
        threads.parallelFor(s.inChannels(), ci -> {
            for (int q = 0; q < kk; q++) {
                int ky = q / s.kernelW();
                int kx = q % s.kernelW();
                int row = s.kRow(ci, q) * n;
                for (int b = b0; b < b1; b++) {
                    int in0 = (b * s.inChannels() + ci) * s.height() * s.width();
                    int c0 = row + (b - b0) * hw;
                    im2colPlane(s, input, in0, ky, kx, cols, c0);
                }
            }
        });
    }

    private static void im2colPlane(Conv2dShape s, float[] input, int in0, int ky, int kx, float[] cols, int c0) {
        int ho = s.outHeight();
        int wo = s.outWidth();
        int w = s.width();
        int sw = s.strideW();
        int xOff = kx * s.dilationW() - s.padW();
        // valid ox range: 0 <= ox*sw + xOff < w
        int oxLo = xOff >= 0 ? 0 : Math.min(wo, (-xOff + sw - 1) / sw);
        int oxHi = Math.max(oxLo, Math.min(wo, (w - xOff + sw - 1) / sw));
        for (int oy = 0; oy < ho; oy++) {
            int iy = oy * s.strideH() - s.padH() + ky * s.dilationH();
            int d = c0 + oy * wo;
            if (iy < 0 || iy >= s.height()) {
                Arrays.fill(cols, d, d + wo, 0f);
                continue;
            }
            int src = in0 + iy * w + xOff;
            Arrays.fill(cols, d, d + oxLo, 0f);
            if (oxHi == oxLo) {
                // the whole row of this tap lies in the padding (src + oxLo may then be outside the input)
                Arrays.fill(cols, d, d + wo, 0f);
                continue;
            }
            if (sw == 1) {
                System.arraycopy(input, src + oxLo, cols, d + oxLo, oxHi - oxLo);
            } else {
                for (int ox = oxLo; ox < oxHi; ox++) {
                    cols[d + ox] = input[src + ox * sw];
                }
            }
            Arrays.fill(cols, d + oxHi, d + wo, 0f);
        }
    }

    /**
     * Folds {@code cols} [K, (b1 - b0) * Ho * Wo] back onto images [b0, b1) of {@code dInput},
     * adding overlapping contributions (the adjoint of {@link #im2col}). Those images of
     * {@code dInput} are overwritten.
     */
    public void col2im(Conv2dShape s, float[] cols, int b0, int b1, float[] dInput) {
        int hw = s.outHeight() * s.outWidth();
        int n = (b1 - b0) * hw;
        int kk = s.kernelH() * s.kernelW();
        int plane = s.height() * s.width();
        threads.parallelFor(s.inChannels(), ci -> {
            for (int b = b0; b < b1; b++) {
                int in0 = (b * s.inChannels() + ci) * plane;
                Arrays.fill(dInput, in0, in0 + plane, 0f);
                for (int q = 0; q < kk; q++) {
                    int ky = q / s.kernelW();
                    int kx = q % s.kernelW();
                    int c0 = s.kRow(ci, q) * n + (b - b0) * hw;
                    col2imPlane(s, cols, c0, ky, kx, dInput, in0);
                }
            }
        });
    }

    private static void col2imPlane(Conv2dShape s, float[] cols, int c0, int ky, int kx, float[] dInput, int in0) {
        int ho = s.outHeight();
        int wo = s.outWidth();
        int w = s.width();
        int sw = s.strideW();
        int xOff = kx * s.dilationW() - s.padW();
        int oxLo = xOff >= 0 ? 0 : Math.min(wo, (-xOff + sw - 1) / sw);
        int oxHi = Math.max(oxLo, Math.min(wo, (w - xOff + sw - 1) / sw));
        for (int oy = 0; oy < ho; oy++) {
            int iy = oy * s.strideH() - s.padH() + ky * s.dilationH();
            if (iy < 0 || iy >= s.height()) {
                continue;
            }
            int src = c0 + oy * wo;
            int dst = in0 + iy * w + xOff;
            for (int ox = oxLo; ox < oxHi; ox++) {
                dInput[dst + ox * sw] += cols[src + ox];
            }
        }
    }

    // ------------------------------------------------------------ forward

    /** Dense forward: output [B, Cout, Ho, Wo] for weight [Cout, Cin, kh, kw]. */
    public float[] forward(Conv2dShape s, float[] input, float[] weight) {
        float[] output = new float[s.outputSize()];
        forward(s, input, weight, output);
        return output;
    }

    /**
     * Dense forward into {@code output} [B, Cout, Ho, Wo] (overwritten; its content on entry does not matter), for
     * callers that reuse arrays: a new output costs its zeroing on the calling thread (0.06-0.09 ms for 1.6 MB, about
     * a tenth of a ResNet-20 convolution at batch 32 on two threads). A reused array saves that only while it is still
     * in cache: the first writes to a cold one miss as the zeroing did (BENCHMARKS.md, session 16).
     */
    public void forward(Conv2dShape s, float[] input, float[] weight, float[] output) {
        GemmKernels.checkLength("weight", weight, s.weightSize());
        GemmKernels.checkLength("input", input, s.inputSize());
        GemmKernels.checkLength("output", output, s.outputSize());
        long flops = 2L * s.outChannels() * s.k() * s.cols();
        DirectConvolutions dc = directIf(d -> d.directForward(s));
        if (dc != null) {
            onThreadsFor(flops, () -> dc.directForward(s, input, weight, output));
        } else {
            onThreadsFor(flops, () -> forward(s, input, new DenseProduct(gemm, s, weight), output));
        }
    }

    /** N:M forward; {@code weight} is [Cout, Cin*kh*kw]. */
    public float[] forward(Conv2dShape s, float[] input, NmMatrix weight) {
        float[] output = new float[s.outputSize()];
        forward(s, input, weight, output);
        return output;
    }

    /** N:M forward into {@code output} [B, Cout, Ho, Wo] (overwritten), as {@link #forward(Conv2dShape, float[], float[], float[])}. */
    public void forward(Conv2dShape s, float[] input, NmMatrix weight, float[] output) {
        checkWeight(s, weight);
        GemmKernels.checkLength("input", input, s.inputSize());
        GemmKernels.checkLength("output", output, s.outputSize());
        long flops = 2L * weight.slots() * s.cols();
        DirectConvolutions dc = directIf(d -> d.directForward(s));
        if (dc != null) {
            onThreadsFor(flops, () -> dc.directForward(s, input, weight, output));
        } else {
            onThreadsFor(flops, () -> forward(s, input, new NmProduct(gemm, weight), output));
        }
    }

    /**
     * System property: {@code false} sends every forward and gradient through im2col (col2im) even where the
     * kernels have a direct (im2col-free) path for it. Read on every forward, so that a benchmark can run both side by side in one JVM.
     */
    public static final String DIRECT_PROPERTY = "sparsetrain.kernels.directConv";

    /**
     * The kernels' direct path if they have one ({@code has}: for this shape and direction) and it is not switched
     * off (here or by the property), else null.
     */
    private DirectConvolutions directIf(java.util.function.Predicate<DirectConvolutions> has) {
        return directOn() && gemm instanceof DirectConvolutions dc && has.test(dc) ? dc : null;
    }

    /** Whether {@link #forward} takes the direct (im2col-free) path for this shape. */
    public boolean directForward(Conv2dShape s) {
        return directIf(d -> d.directForward(s)) != null;
    }

    /** Whether the dense {@link #backwardWeight(Conv2dShape, float[], float[])} takes the direct (im2col-free) path. */
    public boolean directBackwardWeight(Conv2dShape s) {
        return directIf(d -> d.directBackwardWeight(s)) != null;
    }

    /** Whether {@link #backwardInput} takes the direct (col2im-free) path for this shape. */
    public boolean directBackwardInput(Conv2dShape s) {
        return directIf(d -> d.directBackwardInput(s)) != null;
    }

    private boolean directOn() {
        return direct && !"false".equalsIgnoreCase(System.getProperty(DIRECT_PROPERTY));
    }

    /**
     * System property: a forward whose multiply-adds (2 x stored weights x columns) are fewer runs on the calling
     * thread alone. Default 1,000,000. Session 8 set 5,000,000 when handing tasks to the pool cost tens of
     * microseconds (a parked worker wakes 50-90 us late on this VM): ConvBenchmark at batch 1 then measured the 2:4
     * forwards (1.8 MFLOP) 3-40% faster on one thread than on two. Since the workers spin between jobs
     * ({@link KernelThreads#SPIN_PROPERTY}) two threads win at batch 1 too (16x28 to 64x7: dense 0.035-0.040 ms vs
     * 0.060-0.062 on one thread, 2:4 0.036-0.041 vs 0.042-0.069, medians), and ResNet-20 inference plans at batch 1
     * ran 1.35-1.60x (dense) and 1.15-1.17x (2:4) faster at 1,000,000 than at 5,000,000 (alternated runs in separate
     * JVMs; BENCHMARKS.md, session 15).
     */
    public static final String MIN_PARALLEL_FLOPS_PROPERTY = "sparsetrain.kernels.minParallelFlops";

    static final long DEFAULT_MIN_PARALLEL_FLOPS = 1_000_000L;

    private static void onThreadsFor(long flops, Runnable body) {
        if (flops < Long.getLong(MIN_PARALLEL_FLOPS_PROPERTY, DEFAULT_MIN_PARALLEL_FLOPS)) {
            KernelThreads.inline(() -> {
                body.run();
                return null;
            });
        } else {
            body.run();
        }
    }

    private interface Product {
        void apply(float[] in, float[] out, int cols);
    }

    /**
     * Unfolds images [b0, b1) straight into the kernels' column-panel layout (see
     * {@link PackedProducts}): row q of panel (c0, w) at {@code packed[off + c0 * K + q * w]}.
     */
    public void im2colPacked(Conv2dShape s, float[] input, int b0, int b1, float[] packed, int off, int[] plan) {
        int hw = s.outHeight() * s.outWidth();
        int n = (b1 - b0) * hw;
        int kk = s.kernelH() * s.kernelW();
        int k = s.k();
        threads.parallelFor(s.inChannels(), ci -> {
            float[] row = rowBuffer(n);
            for (int q = 0; q < kk; q++) {
                int ky = q / s.kernelW();
                int kx = q % s.kernelW();
                for (int b = b0; b < b1; b++) {
                    int in0 = (b * s.inChannels() + ci) * s.height() * s.width();
                    im2colPlane(s, input, in0, ky, kx, row, (b - b0) * hw);
                }
                // one unfolded row (in L1/L2) scattered into the panels
                int r = s.kRow(ci, q);
                for (int p = 0; p < plan.length; p += 2) {
                    int c0 = plan[p];
                    int w = plan[p + 1];
                    int d = off + c0 * k + r * w;
                    int len = Math.min(w, n - c0);
                    System.arraycopy(row, c0, packed, d, len);
                    if (len < w) {
                        Arrays.fill(packed, d + len, d + w, 0f);
                    }
                }
            }
        });
    }

    private static final ThreadLocal<float[]> ROW = new ThreadLocal<>();

    private static float[] rowBuffer(int n) {
        float[] r = ROW.get();
        if (r == null || r.length < n) {
            r = new float[n];
            ROW.set(r);
        }
        return r;
    }

    private void forward(Conv2dShape s, float[] input, Product product, float[] output) {
        if (gemm instanceof PackedProducts pp) {
            forwardPacked(s, input, pp, product, output);
            return;
        }
        int hw = s.outHeight() * s.outWidth();
        int chunk = chunk(s);
        int cout = s.outChannels();
        for (int b0 = 0; b0 < s.batch(); b0 += chunk) {
            int b1 = Math.min(s.batch(), b0 + chunk);
            int n = (b1 - b0) * hw;
            float[] cols = workspace(0, s.k() * n);
            im2col(s, input, b0, b1, cols);
            float[] y = workspace(1, cout * n);
            product.apply(cols, y, n);
            for (int b = b0; b < b1; b++) {
                for (int co = 0; co < cout; co++) {
                    System.arraycopy(y, co * n + (b - b0) * hw, output, (b * cout + co) * hw, hw);
                }
            }
        }
    }

    /** Forward with im2col writing the kernels' panel layout directly (no second packing pass). */
    private void forwardPacked(Conv2dShape s, float[] input, PackedProducts pp, Product product, float[] output) {
        int hw = s.outHeight() * s.outWidth();
        int chunk = chunk(s);
        int cout = s.outChannels();
        boolean nm = product instanceof NmProduct;
        for (int b0 = 0; b0 < s.batch(); b0 += chunk) {
            int b1 = Math.min(s.batch(), b0 + chunk);
            int n = (b1 - b0) * hw;
            int[] plan = pp.panelPlan(n, nm);
            int off = pp.alignedOffset();
            // large enough to be a G1 humongous object, which keeps the alignment of off
            float[] packed = workspace(2, Math.max(1 << 20, off + PackedProducts.packedColumns(plan) * s.k()));
            im2colPacked(s, input, b0, b1, packed, off, plan);
            float[] y = workspace(1, cout * n);
            if (nm) {
                pp.nmForwardPacked(((NmProduct) product).weight(), packed, off, plan, y, n);
            } else {
                pp.gemmPacked(((DenseProduct) product).weight(), cout, s.k(), packed, off, plan, y, n);
            }
            for (int b = b0; b < b1; b++) {
                for (int co = 0; co < cout; co++) {
                    System.arraycopy(y, co * n + (b - b0) * hw, output, (b * cout + co) * hw, hw);
                }
            }
        }
    }

    /** The dense forward product, recognisable by the packed path. */
    private record DenseProduct(GemmKernels gemm, Conv2dShape s, float[] weight) implements Product {
        @Override
        public void apply(float[] in, float[] out, int cols) {
            gemm.gemm(weight, in, out, s.outChannels(), s.k(), cols);
        }
    }

    /** The N:M forward product. */
    private record NmProduct(GemmKernels gemm, NmMatrix weight) implements Product {
        @Override
        public void apply(float[] in, float[] out, int cols) {
            gemm.nmForward(weight, in, out, cols);
        }
    }

    // ------------------------------------------------------------ input gradient

    /** Dense input gradient: dInput [B, Cin, H, W] from dOut [B, Cout, Ho, Wo]. */
    public float[] backwardInput(Conv2dShape s, float[] dOut, float[] weight) {
        float[] dInput = new float[s.inputSize()];
        backwardInput(s, dOut, weight, dInput);
        return dInput;
    }

    /** Dense input gradient into {@code dInput} [B, Cin, H, W] (overwritten; its content on entry does not matter). */
    public void backwardInput(Conv2dShape s, float[] dOut, float[] weight, float[] dInput) {
        GemmKernels.checkLength("weight", weight, s.weightSize());
        GemmKernels.checkLength("dOut", dOut, s.outputSize());
        GemmKernels.checkLength("dInput", dInput, s.inputSize());
        DirectConvolutions dc = directIf(d -> d.directBackwardInput(s));
        if (dc != null) {
            dc.directBackwardInput(s, dOut, weight, dInput);
        } else {
            backwardInput(s, dOut, (dy, dcols, n) -> gemm.gemmTransA(weight, dy, dcols, s.k(), s.outChannels(), n), dInput);
        }
    }

    /** N:M input gradient. */
    public float[] backwardInput(Conv2dShape s, float[] dOut, NmMatrix weight) {
        float[] dInput = new float[s.inputSize()];
        backwardInput(s, dOut, weight, dInput);
        return dInput;
    }

    /** N:M input gradient into {@code dInput} [B, Cin, H, W] (overwritten). */
    public void backwardInput(Conv2dShape s, float[] dOut, NmMatrix weight, float[] dInput) {
        checkWeight(s, weight);
        GemmKernels.checkLength("dOut", dOut, s.outputSize());
        GemmKernels.checkLength("dInput", dInput, s.inputSize());
        DirectConvolutions dc = directIf(d -> d.directBackwardInput(s));
        if (dc != null) {
            dc.directBackwardInput(s, dOut, weight, dInput);
        } else {
            backwardInput(s, dOut, (dy, dcols, n) -> gemm.nmBackwardInput(weight, dy, dcols, n), dInput);
        }
    }

    private void backwardInput(Conv2dShape s, float[] dOut, Product product, float[] dInput) {
        int chunk = chunk(s);
        for (int b0 = 0; b0 < s.batch(); b0 += chunk) {
            int b1 = Math.min(s.batch(), b0 + chunk);
            int n = (b1 - b0) * s.outHeight() * s.outWidth();
            float[] dy = workspace(1, s.outChannels() * n);
            gatherOutput(s, dOut, b0, b1, dy);
            float[] dcols = workspace(0, s.k() * n);
            product.apply(dy, dcols, n);
            col2im(s, dcols, b0, b1, dInput);
        }
    }

    // ------------------------------------------------------------ weight gradient

    /** Dense weight gradient dW [Cout, Cin*kh*kw]. */
    public float[] backwardWeight(Conv2dShape s, float[] input, float[] dOut) {
        GemmKernels.checkLength("input", input, s.inputSize());
        GemmKernels.checkLength("dOut", dOut, s.outputSize());
        float[] dw = new float[s.weightSize()];
        DirectConvolutions dc = directIf(d -> d.directBackwardWeight(s));
        if (dc != null) {
            dc.directBackwardWeight(s, input, dOut, dw);
            return dw;
        }
        float[] part = null;
        int chunk = chunk(s);
        for (int b0 = 0; b0 < s.batch(); b0 += chunk) {
            int b1 = Math.min(s.batch(), b0 + chunk);
            int n = (b1 - b0) * s.outHeight() * s.outWidth();
            float[] cols = workspace(0, s.k() * n);
            im2col(s, input, b0, b1, cols);
            float[] dy = workspace(1, s.outChannels() * n);
            gatherOutput(s, dOut, b0, b1, dy);
            if (b0 == 0) {
                gemm.gemmTransB(dy, cols, dw, s.outChannels(), n, s.k());
            } else {
                part = part != null ? part : new float[dw.length];
                gemm.gemmTransB(dy, cols, part, s.outChannels(), n, s.k());
                add(dw, part);
            }
        }
        return dw;
    }

    /**
     * N:M weight gradient at the kept positions only, as slot values laid out like
     * {@link NmMatrix#values()} (expand with {@link NmMatrix#scatterSlots}).
     */
    public float[] backwardWeight(Conv2dShape s, float[] input, float[] dOut, NmMatrix weight) {
        checkWeight(s, weight);
        GemmKernels.checkLength("input", input, s.inputSize());
        GemmKernels.checkLength("dOut", dOut, s.outputSize());
        float[] dw = new float[weight.slots()];
        DirectConvolutions nm = directIf(d -> d.directBackwardWeight(s, weight));
        if (nm != null) {
            nm.directBackwardWeight(s, input, dOut, weight, dw);
            return dw;
        }
        if (directBackwardWeight(s)) {
            // the dense direct product, then the kept entries: measured faster than unfolding the input for the
            // N:M kernels on every ResNet shape (BENCHMARKS.md, session 11)
            weight.gatherSlots(backwardWeight(s, input, dOut), dw);
            return dw;
        }
        float[] part = null;
        int chunk = chunk(s);
        for (int b0 = 0; b0 < s.batch(); b0 += chunk) {
            int b1 = Math.min(s.batch(), b0 + chunk);
            int n = (b1 - b0) * s.outHeight() * s.outWidth();
            float[] cols = workspace(0, s.k() * n);
            im2col(s, input, b0, b1, cols);
            float[] dy = workspace(1, s.outChannels() * n);
            gatherOutput(s, dOut, b0, b1, dy);
            if (b0 == 0) {
                gemm.nmBackwardWeight(weight, dy, cols, n, dw);
            } else {
                part = part != null ? part : new float[dw.length];
                gemm.nmBackwardWeight(weight, dy, cols, n, part);
                add(dw, part);
            }
        }
        return dw;
    }

    /** N:M weight gradient as a dense [Cout, K] array with zeros at the pruned positions. */
    public float[] backwardWeightDense(Conv2dShape s, float[] input, float[] dOut, NmMatrix weight) {
        float[] dense = new float[s.weightSize()];
        weight.scatterSlots(backwardWeight(s, input, dOut, weight), dense);
        return dense;
    }

    // ------------------------------------------------------------ helpers

    /** dy [Cout, (b1 - b0) * Ho * Wo] from dOut [B, Cout, Ho, Wo]. */
    private static void gatherOutput(Conv2dShape s, float[] dOut, int b0, int b1, float[] dy) {
        int hw = s.outHeight() * s.outWidth();
        int n = (b1 - b0) * hw;
        int cout = s.outChannels();
        for (int b = b0; b < b1; b++) {
            for (int co = 0; co < cout; co++) {
                System.arraycopy(dOut, (b * cout + co) * hw, dy, co * n + (b - b0) * hw, hw);
            }
        }
    }

    private static int chunk(Conv2dShape s) {
        long perImage = (long) Math.max(s.k(), s.outChannels()) * s.outHeight() * s.outWidth();
        return (int) Math.max(1, Math.min(s.batch(), MAX_COLUMN_FLOATS / perImage));
    }

    private static float[] workspace(int which, int size) {
        float[][] w = WORKSPACE.get();
        if (w[which] == null || w[which].length < size) {
            w[which] = new float[size];
        }
        return w[which];
    }

    private static void add(float[] acc, float[] part) {
        for (int i = 0; i < acc.length; i++) {
            acc[i] += part[i];
        }
    }

    private static void checkWeight(Conv2dShape s, NmMatrix weight) {
        s.checkWeight(Objects.requireNonNull(weight, "weight"));
    }
}
