package io.sparsetrain.prune.method;

/**
 * How a convolution's output feeds a dense layer after flattening: DL4J's CnnToFeedForwardPreProcessor
 * flattens NCHW activations in C order, so dense input {@code k = c*H*W + h*W + w}. After global average
 * pooling H = W = 1 and k = c.
 *
 * @param channels C, output channels of the convolution
 * @param height H of its output activation
 * @param width W of its output activation
 */
public record CnnFlatten(int channels, int height, int width) {

    public CnnFlatten {
        if (channels < 1 || height < 1 || width < 1) {
            throw new IllegalArgumentException("channels, height and width must be >= 1, got channels=" + channels
                    + ", height=" + height + ", width=" + width);
        }
    }

    /** Dense inputs fed, C*H*W. */
    public int size() {
        return channels * height * width;
    }

    /** Dense input index of activation (c, h, w). */
    public int inputIndex(int c, int h, int w) {
        return (c * height + h) * width + w;
    }

    /** Channel feeding dense input k. */
    public int channelOf(int k) {
        return k / (height * width);
    }
}
