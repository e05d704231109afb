package io.sparsetrain.kernels;

/**
 * Optional fast path of a {@link GemmKernels} implementation: stride-1 convolutions computed straight from a
 * zero-padded copy of the input, without im2col. With the padded image [Cin, Hp, Wp] laid out row after row, the
 * im2col row of K position (ci, ky, kx) is the padded image itself read from offset
 * {@code ci * Hp * Wp + ky * dilationH * Wp + kx * dilationW}, for output positions numbered {@code oy * Wp + ox}
 * (the {@code Wp - Wo} positions past each output row are computed and dropped). The padded copy is Cin*Hp*Wp
 * floats per image where im2col writes Cin*kh*kw*Ho*Wo (9x for 3x3), and it stays in cache while it is read.
 * {@link Conv2dKernels} takes this path for the shapes {@link #directForward(Conv2dShape)},
 * {@link #directBackwardInput(Conv2dShape)} and {@link #directBackwardWeight(Conv2dShape)} accept.
 */
public interface DirectConvolutions {

    /** Whether {@link #directForward(Conv2dShape, float[], float[], float[])} handles this shape (stride 1). */
    boolean directForward(Conv2dShape s);

    /** Dense forward: output [B, Cout, Ho, Wo] (overwritten) for weight [Cout, K]. */
    void directForward(Conv2dShape s, float[] input, float[] weight, float[] output);

    /** N:M forward: output [B, Cout, Ho, Wo] (overwritten) for weight [Cout, K] compressed. */
    void directForward(Conv2dShape s, float[] input, NmMatrix weight, float[] output);

    /**
     * Whether {@link #directBackwardInput(Conv2dShape, float[], float[], float[])} handles this shape: stride 1
     * and padding at most the kernel's reach ((k - 1) * dilation) on each axis. The input gradient of a stride-1
     * convolution is the forward of the flipped kernel over dY padded by the reach minus the padding.
     */
    boolean directBackwardInput(Conv2dShape s);

    /** Dense input gradient: dInput [B, Cin, H, W] (overwritten) from dOut [B, Cout, Ho, Wo]. */
    void directBackwardInput(Conv2dShape s, float[] dOut, float[] weight, float[] dInput);

    /** N:M input gradient: dInput [B, Cin, H, W] (overwritten) from dOut [B, Cout, Ho, Wo]. */
    void directBackwardInput(Conv2dShape s, float[] dOut, NmMatrix weight, float[] dInput);

    /** Whether {@link #directBackwardWeight(Conv2dShape, float[], float[], float[])} handles this shape (stride 1). */
    boolean directBackwardWeight(Conv2dShape s);

    /** Dense weight gradient: dW [Cout, K] (overwritten) from input [B, Cin, H, W] and dOut [B, Cout, Ho, Wo]. */
    void directBackwardWeight(Conv2dShape s, float[] input, float[] dOut, float[] dw);

    /**
     * Whether {@link #directBackwardWeight(Conv2dShape, float[], float[], NmMatrix, float[])} handles this shape and
     * matrix (and is the faster route for it); otherwise the N:M weight gradient is taken from the dense one.
     */
    default boolean directBackwardWeight(Conv2dShape s, NmMatrix weight) {
        return false;
    }

    /**
     * N:M weight gradient at the kept positions only: dwSlots (overwritten) laid out like {@link NmMatrix#values()},
     * from input [B, Cin, H, W] and dOut [B, Cout, Ho, Wo].
     */
    default void directBackwardWeight(Conv2dShape s, float[] input, float[] dOut, NmMatrix weight, float[] dwSlots) {
        throw new UnsupportedOperationException("no direct N:M weight gradient for " + s);
    }
}
