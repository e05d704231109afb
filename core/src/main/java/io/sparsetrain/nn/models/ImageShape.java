package io.sparsetrain.nn.models;

/** The shape of one input image, NCHW without the batch: channels x height x width. */
public record ImageShape(int channels, int height, int width) {

    public ImageShape {
        if (channels < 1 || height < 1 || width < 1) {
            throw new IllegalArgumentException("image shape needs positive sizes, got " + channels + "x" + height + "x" + width);
        }
    }

    public static ImageShape of(int channels, int height, int width) {
        return new ImageShape(channels, height, width);
    }

    @Override
    public String toString() {
        return channels + "x" + height + "x" + width;
    }
}
