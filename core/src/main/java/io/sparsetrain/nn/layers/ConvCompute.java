package io.sparsetrain.nn.layers;

import io.sparsetrain.kernels.Conv2dKernels;
import io.sparsetrain.kernels.Conv2dShape;
import io.sparsetrain.kernels.GemmKernels;
import io.sparsetrain.kernels.NmMatrix;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One sparse convolution layer's products on the kernel engine's public pieces (im2col, col2im and
 * the GEMMs of {@link Conv2dKernels#gemm()}), keeping two things {@link Conv2dKernels}' one-call
 * methods cannot: the im2col columns of the training forward pass, reused by the weight gradient
 * (one im2col per step instead of two) in a buffer reused across steps, and the weight gradient as
 * columns * dY^T (the long batch*Ho*Wo reduction inside the GEMM, without transposing the column
 * matrix). Convolutions whose column matrix exceeds {@link #MAX_CACHED_COLUMNS} floats use
 * {@link Conv2dKernels} (batch-chunked) instead. Where the engine has a direct (im2col-free) path, the forward and
 * the input gradient take it ({@link Conv2dKernels#directForward}, {@link Conv2dKernels#directBackwardInput}), and
 * so does the weight gradient ({@link Conv2dKernels#directBackwardWeight}; for a frozen N:M layer the dense product
 * masked): then nothing is unfolded.
 *
 * <p>Memory: the column buffers that layers keep between steps are limited, over all layers of
 * the JVM, to {@value #BUDGET_PROPERTY} floats (default {@link #DEFAULT_BUDGET}, 1 GiB); a layer
 * over the budget uses a temporary buffer and recomputes im2col in its backward pass.
 */
final class ConvCompute {

    /** Largest column matrix kept between forward and backward: 64 Mi floats (256 MiB). */
    static final long MAX_CACHED_COLUMNS = 1L << 26;

    private static volatile long maxCachedColumns = MAX_CACHED_COLUMNS;

    /** System property: floats of column buffers all sparse convolutions of the JVM may keep. */
    public static final String BUDGET_PROPERTY = "sparsetrain.nn.columnCacheFloats";
    /** 256 Mi floats (1 GiB). */
    public static final long DEFAULT_BUDGET = 1L << 28;
    private static volatile long budget = Long.getLong(BUDGET_PROPERTY, DEFAULT_BUDGET);
    private static final AtomicLong RESERVED = new AtomicLong();
    private static final Cleaner CLEANER = Cleaner.create();
    private static final ThreadLocal<float[]> SCRATCH = new ThreadLocal<>();

    private final AtomicLong reserved = new AtomicLong(); // floats of this instance's cols buffer

    ConvCompute() {
        AtomicLong mine = reserved;
        CLEANER.register(this, () -> RESERVED.addAndGet(-mine.getAndSet(0)));
    }

    /**
     * System property: "true" computes the weight gradient of a frozen N:M layer densely (columns *
     * dY^T, then masked) instead of with the engine's N:M weight-gradient kernel; for comparing the
     * two while the N:M kernel is slower than the dense one on some shapes. Default false. Stride-1 convolutions
     * with a direct path then take the dense direct product, masked.
     */
    public static final String NM_DENSE_WEIGHT_GRADIENT_PROPERTY = "sparsetrain.nn.nmDenseWeightGradient";

    /** For tests: another budget (floats). */
    static void setBudget(long floats) {
        budget = floats;
    }

    /** Floats of column buffers kept by all layers (for tests and logs). */
    static long reservedFloats() {
        return RESERVED.get();
    }

    /** The kept column buffer if it fits the budget, else a temporary array. */
    private float[] columns(int size) {
        if (cols != null && cols.length >= size) {
            return cols;
        }
        long old = cols == null ? 0 : cols.length;
        if (RESERVED.get() - old + size <= budget) {
            RESERVED.addAndGet(size - old);
            reserved.set(size);
            cols = new float[size];
            return cols;
        }
        return new float[size];
    }

    /** Per-thread scratch for dY / Y [Cout, B*Ho*Wo]. */
    private static float[] scratch(int size) {
        float[] b = SCRATCH.get();
        if (b == null || b.length < size) {
            b = new float[size];
            SCRATCH.set(b);
        }
        return b;
    }

    /** For tests: lowers the limit so that the batch-chunked {@link Conv2dKernels} path runs. */
    static void setMaxCachedColumns(long floats) {
        maxCachedColumns = floats;
    }

    private static final Conv2dKernels CONV = Conv2dKernels.get();
    private static final GemmKernels GEMM = CONV.gemm();

    private float[] cols;
    private Conv2dShape colsShape; // non-null while cols holds im2col of the last training input
    private float[] colsInput;

    /** Output [B, Cout, Ho, Wo] for dense {@code w} [Cout, K] or, when non-null, {@code nm}. */
    float[] forward(Conv2dShape s, float[] x, float[] w, NmMatrix nm, boolean keepColumns) {
        colsShape = null;
        colsInput = null;
        long size = (long) s.k() * s.cols();
        if (!keepColumns || size > maxCachedColumns || CONV.directForward(s)) {
            // nothing to keep for a backward pass: a direct forward (stride 1) unfolds nothing, and its backward
            // reads the padded input itself (or, where only the forward is direct, unfolds it once there); otherwise
            // the engine's one-call forward unfolds the input straight into its kernels' panel layout (one pass over
            // the columns instead of im2col and a second packing pass)
            return nm != null ? CONV.forward(s, x, nm) : CONV.forward(s, x, w);
        }
        int n = s.cols();
        float[] c = columns((int) size);
        CONV.im2col(s, x, 0, s.batch(), c);
        int cout = s.outChannels();
        float[] ybuf = scratch(cout * n);
        if (nm != null) {
            GEMM.nmForward(nm, c, ybuf, n);
        } else {
            GEMM.gemm(w, c, ybuf, cout, s.k(), n);
        }
        float[] out = new float[s.outputSize()];
        int hw = s.outHeight() * s.outWidth();
        for (int b = 0; b < s.batch(); b++) {
            for (int co = 0; co < cout; co++) {
                System.arraycopy(ybuf, co * n + b * hw, out, (b * cout + co) * hw, hw);
            }
        }
        if (c == cols) {
            colsShape = s;
            colsInput = x;
        }
        return out;
    }

    /** Weight gradient [Cout, K] (zero where an N:M matrix keeps nothing) and input gradient [B, Cin, H, W]. */
    record Gradients(float[] dw, float[] dx) {
    }

    Gradients backward(Conv2dShape s, float[] x, float[] dOut, float[] w, NmMatrix nm) {
        long size = (long) s.k() * s.cols();
        if (CONV.directBackwardWeight(s) && CONV.directBackwardInput(s)) {
            // no unfolding at all: both gradients straight from the padded input and dY; a frozen N:M layer's
            // weight gradient at its kept positions (the engine picks the grouped kernels on padded images or the
            // dense direct product masked, by shape), or with the property the dense direct product masked
            colsShape = null;
            colsInput = null;
            boolean denseDw = Boolean.getBoolean(NM_DENSE_WEIGHT_GRADIENT_PROPERTY);
            float[] dw = nm != null && !denseDw ? CONV.backwardWeightDense(s, x, dOut, nm) : CONV.backwardWeight(s, x, dOut);
            if (nm != null && denseDw) {
                applyMask(dw, nm);
            }
            return new Gradients(dw, nm != null ? CONV.backwardInput(s, dOut, nm) : CONV.backwardInput(s, dOut, w));
        }
        if (size > maxCachedColumns) {
            float[] dw = nm != null ? CONV.backwardWeightDense(s, x, dOut, nm) : CONV.backwardWeight(s, x, dOut);
            float[] dx = nm != null ? CONV.backwardInput(s, dOut, nm) : CONV.backwardInput(s, dOut, w);
            return new Gradients(dw, dx);
        }
        int n = s.cols();
        int k = s.k();
        int cout = s.outChannels();
        int hw = s.outHeight() * s.outWidth();
        float[] c;
        if (colsShape != null && colsShape.equals(s) && colsInput == x) {
            c = cols;
        } else {
            c = columns((int) size);
            CONV.im2col(s, x, 0, s.batch(), c);
        }
        colsShape = null;
        colsInput = null;
        float[] dy = scratch(cout * n); // dY [Cout, B*Ho*Wo]
        for (int b = 0; b < s.batch(); b++) {
            for (int co = 0; co < cout; co++) {
                System.arraycopy(dOut, (b * cout + co) * hw, dy, co * n + b * hw, hw);
            }
        }
        float[] dw = new float[cout * k];
        if (nm != null && !Boolean.getBoolean(NM_DENSE_WEIGHT_GRADIENT_PROPERTY)) {
            float[] slots = new float[nm.slots()];
            GEMM.nmBackwardWeight(nm, dy, c, n, slots);
            nm.scatterSlots(slots, dw);
        } else {
            // dW^T [K, Cout] = columns [K, n] * dY^T [n, Cout]
            float[] dyT = new float[n * cout];
            for (int b = 0; b < s.batch(); b++) {
                for (int co = 0; co < cout; co++) {
                    int src = (b * cout + co) * hw;
                    int dst = b * hw * cout + co;
                    for (int i = 0; i < hw; i++) {
                        dyT[dst + i * cout] = dOut[src + i];
                    }
                }
            }
            float[] dwT = new float[k * cout];
            GEMM.gemm(c, dyT, dwT, k, n, cout);
            for (int q = 0; q < k; q++) {
                for (int co = 0; co < cout; co++) {
                    dw[co * k + q] = dwT[q * cout + co];
                }
            }
            if (nm != null) {
                applyMask(dw, nm);
            }
        }
        if (CONV.directBackwardInput(s)) {
            float[] dx = nm != null ? CONV.backwardInput(s, dOut, nm) : CONV.backwardInput(s, dOut, w);
            return new Gradients(dw, dx);
        }
        // the columns are no longer needed: their buffer takes dColumns [K, n]
        if (nm != null) {
            GEMM.nmBackwardInput(nm, dy, c, n);
        } else {
            GEMM.gemmTransA(w, dy, c, k, cout, n);
        }
        float[] dx = new float[s.inputSize()];
        CONV.col2im(s, c, 0, s.batch(), dx);
        return new Gradients(dw, dx);
    }

    /** Zeroes dw [Cout, K] where {@code nm} keeps nothing. */
    private static void applyMask(float[] dw, NmMatrix nm) {
        float[] mask = nm.mask();
        for (int i = 0; i < dw.length; i++) {
            dw[i] *= mask[i];
        }
    }

    /** Drops the buffers (e.g. when a layer is cleared). */
    void release() {
        RESERVED.addAndGet(-reserved.getAndSet(0));
        cols = null;
        colsShape = null;
        colsInput = null;
    }
}
