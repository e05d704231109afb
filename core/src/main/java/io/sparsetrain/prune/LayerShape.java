package io.sparsetrain.prune;

import java.util.Arrays;

/**
 * Shape and memory layout of a prunable weight tensor stored as a flat row-major {@code float[]}.
 *
 * <p>Every pruning method works on the GEMM view of METHODS.md: a matrix W of {@code outputs()} rows
 * (the output axis) and {@code k()} columns (the K axis). For a convolution {@code [Cout, Cin, kh, kw]}
 * the K axis runs over Cin, then kh, then kw (im2col order), so K = Cin*kh*kw and the
 * {@code kh x kw} kernel of (output o, input channel c) occupies K positions
 * {@code [c*kh*kw, (c+1)*kh*kw)}. A dense layer has K = nIn and a kernel size of 1.
 *
 * <p>Dense layers come in two storage layouts, and the shape says which one the array uses:
 * <ul>
 *   <li>{@link Layout#DENSE_OUT_IN}: row-major {@code [out, in]} (output axis 0), the METHODS.md view.
 *       This is also the order of DL4J's flattened parameter vector, which stores its {@code [nIn, nOut]}
 *       "W" in Fortran order (e.g. {@code getParam("W").dup('f').data().asFloat()}).</li>
 *   <li>{@link Layout#DENSE_IN_OUT}: row-major {@code [in, out]} (output axis 1), DL4J's logical
 *       {@code [nIn, nOut]} shape read in C order (e.g. {@code getParam("W").dup('c').data().asFloat()}).</li>
 * </ul>
 * Convolutions are always {@code [Cout, Cin, kh, kw]} row-major, which is DL4J's ConvolutionLayer layout.
 * Masks use the same storage layout as the weights they belong to: mask bit i masks {@code weights[i]}.
 */
public final class LayerShape {

    /** Storage layout of the flat weight array. The codes are part of the mask-set file format. */
    public enum Layout {
        /** Convolution, row-major {@code [Cout, Cin, kh, kw]}; output axis 0. */
        CONV_OUT_IN_KH_KW(1),
        /** Dense, row-major {@code [out, in]}; output axis 0. */
        DENSE_OUT_IN(2),
        /** Dense, row-major {@code [in, out]} (DL4J's logical shape); output axis 1. */
        DENSE_IN_OUT(3);

        private final int code;

        Layout(int code) {
            this.code = code;
        }

        /** Stable code used in serialized masks. */
        public int code() {
            return code;
        }

        /** Inverse of {@link #code()}. */
        public static Layout fromCode(int code) {
            for (Layout l : values()) {
                if (l.code == code) {
                    return l;
                }
            }
            throw new IllegalArgumentException("unknown layer layout code " + code + ", expected 1, 2 or 3");
        }
    }

    private final Layout layout;
    private final int outputs;
    private final int channels;
    private final int kh;
    private final int kw;
    private final int size;

    private LayerShape(Layout layout, int outputs, int channels, int kh, int kw) {
        positive("outputs", outputs);
        positive(layout == Layout.CONV_OUT_IN_KH_KW ? "input channels" : "inputs", channels);
        positive("kernel height", kh);
        positive("kernel width", kw);
        long n = (long) outputs * channels * kh * kw;
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("layer has " + n + " weights, more than a float[] can hold");
        }
        this.layout = layout;
        this.outputs = outputs;
        this.channels = channels;
        this.kh = kh;
        this.kw = kw;
        this.size = (int) n;
    }

    private static void positive(String what, int v) {
        if (v < 1) {
            throw new IllegalArgumentException(what + " must be >= 1, got " + v);
        }
    }

    /** A convolution weight {@code [Cout, Cin, kh, kw]}, row-major. */
    public static LayerShape conv(int cout, int cin, int kh, int kw) {
        return new LayerShape(Layout.CONV_OUT_IN_KH_KW, cout, cin, kh, kw);
    }

    /** A dense weight stored row-major as {@code [out, in]}. */
    public static LayerShape dense(int out, int in) {
        return new LayerShape(Layout.DENSE_OUT_IN, out, in, 1, 1);
    }

    /** A dense weight stored row-major as {@code [in, out]} (DL4J's {@code [nIn, nOut]} in C order). */
    public static LayerShape denseInOut(int in, int out) {
        return new LayerShape(Layout.DENSE_IN_OUT, out, in, 1, 1);
    }

    /** Rebuilds a shape from its layout and storage dimensions (as returned by {@link #dims()}). */
    public static LayerShape of(Layout layout, int... dims) {
        switch (layout) {
            case CONV_OUT_IN_KH_KW:
                requireRank(layout, dims, 4);
                return conv(dims[0], dims[1], dims[2], dims[3]);
            case DENSE_OUT_IN:
                requireRank(layout, dims, 2);
                return dense(dims[0], dims[1]);
            case DENSE_IN_OUT:
                requireRank(layout, dims, 2);
                return denseInOut(dims[0], dims[1]);
            default:
                throw new AssertionError(layout);
        }
    }

    private static void requireRank(Layout layout, int[] dims, int rank) {
        if (dims.length != rank) {
            throw new IllegalArgumentException(
                    "layout " + layout + " needs " + rank + " dimensions, got " + Arrays.toString(dims));
        }
    }

    public Layout layout() {
        return layout;
    }

    /** True for convolution layouts. */
    public boolean isConv() {
        return layout == Layout.CONV_OUT_IN_KH_KW;
    }

    /** Number of output units: Cout for a convolution, out for a dense layer (rows of the GEMM view). */
    public int outputs() {
        return outputs;
    }

    /** Input channels Cin of a convolution, or inputs of a dense layer. */
    public int inputChannels() {
        return channels;
    }

    public int kernelHeight() {
        return kh;
    }

    public int kernelWidth() {
        return kw;
    }

    /** Weights per kernel, kh*kw (1 for dense layers and 1x1 convolutions). */
    public int kernelSize() {
        return kh * kw;
    }

    /** Number of kernels, Cout*Cin (one per (output, input channel) pair). */
    public int kernelCount() {
        return outputs * channels;
    }

    /** Length of the K axis: Cin*kh*kw, or nIn for dense layers. */
    public int k() {
        return channels * kh * kw;
    }

    /** Total number of weights. */
    public int size() {
        return size;
    }

    /** Which storage axis is the output axis: 0, except 1 for {@link Layout#DENSE_IN_OUT}. */
    public int outputAxis() {
        return layout == Layout.DENSE_IN_OUT ? 1 : 0;
    }

    /** Storage dimensions, in the order the flat array is laid out. */
    public int[] dims() {
        switch (layout) {
            case CONV_OUT_IN_KH_KW:
                return new int[] {outputs, channels, kh, kw};
            case DENSE_OUT_IN:
                return new int[] {outputs, channels};
            case DENSE_IN_OUT:
                return new int[] {channels, outputs};
            default:
                throw new AssertionError(layout);
        }
    }

    /** Flat storage index of GEMM-view element (row = output unit, kIndex on the K axis). */
    public int index(int row, int kIndex) {
        assert row >= 0 && row < outputs && kIndex >= 0 && kIndex < k();
        return layout == Layout.DENSE_IN_OUT ? kIndex * outputs + row : row * k() + kIndex;
    }

    /** Same number of weights in the same GEMM view (layouts may differ). */
    public boolean sameView(LayerShape other) {
        return outputs == other.outputs && channels == other.channels && kh == other.kh && kw == other.kw;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof LayerShape)) {
            return false;
        }
        LayerShape s = (LayerShape) o;
        return layout == s.layout && sameView(s);
    }

    @Override
    public int hashCode() {
        return ((layout.hashCode() * 31 + outputs) * 31 + channels) * 961 + kh * 31 + kw;
    }

    @Override
    public String toString() {
        switch (layout) {
            case CONV_OUT_IN_KH_KW:
                return "conv[" + outputs + "," + channels + "," + kh + "," + kw + "]";
            case DENSE_OUT_IN:
                return "dense[out=" + outputs + ",in=" + channels + "]";
            default:
                return "dense[in=" + channels + ",out=" + outputs + "]";
        }
    }
}
