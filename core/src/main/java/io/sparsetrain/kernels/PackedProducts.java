package io.sparsetrain.kernels;

/**
 * Optional fast path of a {@link GemmKernels} implementation: forward products whose right-hand
 * operand X [K, cols] arrives already cut into column panels, so that a producer such as im2col
 * can write the kernel layout directly instead of a row-major matrix the kernel then repacks.
 *
 * <p>Panel layout: {@link #panelPlan(int, boolean)} gives pairs (first column c0, width w); panel
 * (c0, w) occupies {@code packed[off + c0 * K + q * w + j]} for row q of X and column c0 + j,
 * zero past {@code cols}. {@code off + c0 * K} is a multiple of the vector length, and {@code off}
 * should be {@link #alignedOffset()} in a large array so that panel rows start on cache lines.
 */
public interface PackedProducts {

    /** Column panels for a product with {@code cols} columns: pairs (c0, width). */
    int[] panelPlan(int cols, boolean nm);

    /** Total packed columns of a plan (cols rounded up to the panel widths). */
    static int packedColumns(int[] plan) {
        int n = plan.length;
        return plan[n - 2] + plan[n - 1];
    }

    /** Float offset at which data in a freshly allocated large float[] is 64-byte aligned. */
    int alignedOffset();

    /** Y [rows, cols] = W [rows, K] * X, X pre-packed. */
    void gemmPacked(float[] w, int rows, int k, float[] packed, int off, int[] plan, float[] y, int cols);

    /** Y [rows, cols] = W_nm * X, X pre-packed. */
    void nmForwardPacked(NmMatrix w, float[] packed, int off, int[] plan, float[] y, int cols);
}
