package io.sparsetrain.kernels;

import java.util.Objects;

/**
 * Fully connected layer products on row-major batches, dense or N:M: input x [batch, in],
 * weight W [out, in] (the N:M groups run along "in"), output y [batch, out] = x * W^T.
 * Implemented on the [rows, K] x [K, cols] kernels with the batch as the column dimension (one
 * transpose in, one out). Bias and activation belong to the layer.
 */
public final class DenseLayerKernels {

    private final GemmKernels gemm;

    public DenseLayerKernels(GemmKernels gemm) {
        this.gemm = Objects.requireNonNull(gemm, "gemm");
    }

    /** On the start-up kernels. */
    public static DenseLayerKernels get() {
        return new DenseLayerKernels(KernelProvider.get());
    }

    /** y [batch, out] = x [batch, in] * W^T, W dense [out, in]. */
    public float[] forward(float[] x, float[] w, int batch, int in, int out) {
        check(x, "x", batch, in);
        check(w, "w", out, in);
        float[] y = new float[batch * out];
        gemm.gemmTransB(x, w, y, batch, in, out);
        return y;
    }

    /** y [batch, out] = x [batch, in] * W^T, W N:M [out, in]. */
    public float[] forward(float[] x, NmMatrix w, int batch) {
        check(x, "x", batch, w.k());
        float[] yt = new float[w.rows() * batch];
        gemm.nmForward(w, transpose(x, batch, w.k()), yt, batch);
        return transpose(yt, w.rows(), batch);
    }

    /** dx [batch, in] = dy [batch, out] * W, W dense [out, in]. */
    public float[] backwardInput(float[] dy, float[] w, int batch, int in, int out) {
        check(dy, "dy", batch, out);
        check(w, "w", out, in);
        float[] dx = new float[batch * in];
        gemm.gemm(dy, w, dx, batch, out, in);
        return dx;
    }

    /** dx [batch, in] = dy [batch, out] * W, W N:M [out, in]. */
    public float[] backwardInput(float[] dy, NmMatrix w, int batch) {
        check(dy, "dy", batch, w.rows());
        float[] dxt = new float[w.k() * batch];
        gemm.nmBackwardInput(w, transpose(dy, batch, w.rows()), dxt, batch);
        return transpose(dxt, w.k(), batch);
    }

    /** dW [out, in] = dy^T * x, dense. */
    public float[] backwardWeight(float[] x, float[] dy, int batch, int in, int out) {
        check(x, "x", batch, in);
        check(dy, "dy", batch, out);
        float[] dw = new float[out * in];
        gemm.gemmTransA(dy, x, dw, out, batch, in);
        return dw;
    }

    /** dW at the kept positions of W only, as slot values laid out like {@link NmMatrix#values()}. */
    public float[] backwardWeight(float[] x, float[] dy, NmMatrix w, int batch) {
        check(x, "x", batch, w.k());
        check(dy, "dy", batch, w.rows());
        float[] dw = new float[w.slots()];
        gemm.nmBackwardWeight(w, transpose(dy, batch, w.rows()), transpose(x, batch, w.k()), batch, dw);
        return dw;
    }

    private static void check(float[] a, String name, int rows, int cols) {
        if (rows < 1 || cols < 1) {
            throw new IllegalArgumentException(name + " needs positive dimensions, got " + rows + "x" + cols);
        }
        GemmKernels.checkLength(name, a, (long) rows * cols);
    }

    static float[] transpose(float[] src, int rows, int cols) {
        float[] dst = new float[rows * cols];
        for (int i0 = 0; i0 < rows; i0 += 32) {
            int i1 = Math.min(rows, i0 + 32);
            for (int j0 = 0; j0 < cols; j0 += 32) {
                int j1 = Math.min(cols, j0 + 32);
                for (int i = i0; i < i1; i++) {
                    for (int j = j0; j < j1; j++) {
                        dst[j * rows + i] = src[i * cols + j];
                    }
                }
            }
        }
        return dst;
    }
}
