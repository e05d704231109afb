package io.sparsetrain.kernels;

/**
 * The shape of a 2-D convolution on NCHW data: input [batch, inChannels, height, width], weight
 * [outChannels, inChannels, kernelH, kernelW], output [batch, outChannels, outHeight, outWidth].
 * Immutable and validated on construction; {@link #toString()} prints every setting.
 *
 * <p>As a matrix product (im2col): W [outChannels, K] times columns [K, batch * outHeight * outWidth]
 * with {@code K = inChannels * kernelH * kernelW}.
 */
public final class Conv2dShape {

    public static final int DEFAULT_STRIDE = 1;
    public static final int DEFAULT_PADDING = 0;
    public static final int DEFAULT_DILATION = 1;

    private final int batch;
    private final int inChannels;
    private final int height;
    private final int width;
    private final int outChannels;
    private final int kernelH;
    private final int kernelW;
    private final int strideH;
    private final int strideW;
    private final int padH;
    private final int padW;
    private final int dilationH;
    private final int dilationW;
    private final int outHeight;
    private final int outWidth;
    private final boolean channelMajorK;

    private Conv2dShape(Builder b) {
        channelMajorK = b.channelMajorK;
        batch = positive("batch", b.batch);
        inChannels = positive("inChannels", b.inChannels);
        height = positive("height", b.height);
        width = positive("width", b.width);
        outChannels = positive("outChannels", b.outChannels);
        kernelH = positive("kernelH", b.kernelH);
        kernelW = positive("kernelW", b.kernelW);
        strideH = positive("strideH", b.strideH);
        strideW = positive("strideW", b.strideW);
        dilationH = positive("dilationH", b.dilationH);
        dilationW = positive("dilationW", b.dilationW);
        if (b.padH < 0 || b.padW < 0) {
            throw new IllegalArgumentException("padding must be >= 0, got padH=" + b.padH + ", padW=" + b.padW);
        }
        padH = b.padH;
        padW = b.padW;
        int effH = dilationH * (kernelH - 1) + 1;
        int effW = dilationW * (kernelW - 1) + 1;
        if (height + 2 * padH < effH || width + 2 * padW < effW) {
            throw new IllegalArgumentException("kernel " + kernelH + "x" + kernelW + " (dilation " + dilationH + "x"
                    + dilationW + ") does not fit the padded input " + (height + 2 * padH) + "x" + (width + 2 * padW));
        }
        outHeight = (height + 2 * padH - effH) / strideH + 1;
        outWidth = (width + 2 * padW - effW) / strideW + 1;
        long cols = (long) batch * outHeight * outWidth;
        long k = (long) inChannels * kernelH * kernelW;
        if (cols * Math.max(k, outChannels) > Integer.MAX_VALUE || (long) batch * inChannels * height * width > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("convolution too large for int-indexed arrays: " + this);
        }
    }

    private static int positive(String name, int v) {
        if (v < 1) {
            throw new IllegalArgumentException(name + " must be >= 1, got " + name + "=" + v);
        }
        return v;
    }

    /**
     * The symmetric padding of DL4J's {@code ConvolutionMode.Same} on one axis (output = ceil(in / stride)); when
     * Same needs an odd total padding the result is one short of it, which callers detect by the output size.
     */
    public static int samePadding(int in, int kernel, int stride, int dilation) {
        int out = (in + stride - 1) / stride;
        int eff = dilation * (kernel - 1) + 1;
        return Math.max(0, (out - 1) * stride + eff - in) / 2;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A square-kernel convolution with equal stride/padding in both directions, dilation 1. */
    public static Conv2dShape of(int batch, int inChannels, int height, int width, int outChannels,
                                 int kernel, int stride, int padding) {
        return builder().batch(batch).input(inChannels, height, width).outChannels(outChannels)
                .kernel(kernel, kernel).stride(stride, stride).padding(padding, padding).build();
    }

    /** The same convolution with another batch size. */
    public Conv2dShape withBatch(int newBatch) {
        return toBuilder().batch(newBatch).build();
    }

    public Builder toBuilder() {
        return builder().batch(batch).input(inChannels, height, width).outChannels(outChannels)
                .kernel(kernelH, kernelW).stride(strideH, strideW).padding(padH, padW).dilation(dilationH, dilationW)
                .channelMajorK(channelMajorK);
    }

    /**
     * Whether the K axis runs (kernel row, kernel column, input channel) instead of the default (input channel,
     * kernel row, kernel column): im2col rows, col2im rows and the weight matrix [Cout, K] all use that order.
     * N:M masks whose groups are input channels at one kernel position (channel-wise, as Apex ASP makes them)
     * are plain N:M along this K.
     */
    public boolean channelMajorK() {
        return channelMajorK;
    }

    /** The K position of input channel {@code ci} at kernel position {@code tap} (ky * kernelW + kx). */
    public int kRow(int ci, int tap) {
        return channelMajorK ? tap * inChannels + ci : ci * kernelH * kernelW + tap;
    }

    public int batch() { return batch; }
    public int inChannels() { return inChannels; }
    public int height() { return height; }
    public int width() { return width; }
    public int outChannels() { return outChannels; }
    public int kernelH() { return kernelH; }
    public int kernelW() { return kernelW; }
    public int strideH() { return strideH; }
    public int strideW() { return strideW; }
    public int padH() { return padH; }
    public int padW() { return padW; }
    public int dilationH() { return dilationH; }
    public int dilationW() { return dilationW; }
    public int outHeight() { return outHeight; }
    public int outWidth() { return outWidth; }

    /** Fails naming both shapes unless {@code weight} is [Cout, Cin*kh*kw]. */
    public void checkWeight(NmMatrix weight) {
        if (weight.rows() != outChannels || weight.k() != k()) {
            throw new IllegalArgumentException("weight is [" + weight.rows() + ", " + weight.k() + "], expected [Cout, Cin*kh*kw] = ["
                    + outChannels + ", " + k() + "] for " + this);
        }
    }

    /** Reduction length of the im2col product: inChannels * kernelH * kernelW. */
    public int k() {
        return inChannels * kernelH * kernelW;
    }

    /** Columns of the im2col product: batch * outHeight * outWidth. */
    public int cols() {
        return batch * outHeight * outWidth;
    }

    public int inputSize() {
        return batch * inChannels * height * width;
    }

    public int outputSize() {
        return batch * outChannels * outHeight * outWidth;
    }

    public int weightSize() {
        return outChannels * k();
    }

    /** Multiply-adds times two of the forward pass (dense). */
    public double flops() {
        return 2.0 * outChannels * k() * cols();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Conv2dShape s && s.toString().equals(toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    @Override
    public String toString() {
        return "Conv2dShape{batch=" + batch + ", in=" + inChannels + "x" + height + "x" + width
                + ", out=" + outChannels + "x" + outHeight + "x" + outWidth
                + ", kernel=" + kernelH + "x" + kernelW + ", stride=" + strideH + "x" + strideW
                + ", padding=" + padH + "x" + padW + ", dilation=" + dilationH + "x" + dilationW
                + (channelMajorK ? ", K channel-major" : "") + "}";
    }

    /** Builder; stride and dilation default to 1, padding to 0. */
    public static final class Builder {
        private int batch = 1;
        private int inChannels;
        private int height;
        private int width;
        private int outChannels;
        private int kernelH;
        private int kernelW;
        private boolean channelMajorK;
        private int strideH = DEFAULT_STRIDE;
        private int strideW = DEFAULT_STRIDE;
        private int padH = DEFAULT_PADDING;
        private int padW = DEFAULT_PADDING;
        private int dilationH = DEFAULT_DILATION;
        private int dilationW = DEFAULT_DILATION;

        public Builder batch(int v) { batch = v; return this; }
        /** K order (kernel row, kernel column, input channel) instead of (input channel, kernel row, kernel column). */
        public Builder channelMajorK(boolean v) { channelMajorK = v; return this; }
        public Builder input(int channels, int h, int w) { inChannels = channels; height = h; width = w; return this; }
        public Builder outChannels(int v) { outChannels = v; return this; }
        public Builder kernel(int h, int w) { kernelH = h; kernelW = w; return this; }
        public Builder stride(int h, int w) { strideH = h; strideW = w; return this; }
        public Builder padding(int h, int w) { padH = h; padW = w; return this; }
        public Builder dilation(int h, int w) { dilationH = h; dilationW = w; return this; }

        public Conv2dShape build() {
            return new Conv2dShape(this);
        }
    }
}
