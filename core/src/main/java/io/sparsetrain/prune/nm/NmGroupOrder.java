package io.sparsetrain.prune.nm;

import io.sparsetrain.prune.LayerShape;
import java.util.Locale;

/**
 * Which M weights of a row form an N:M group. A convolution's GEMM row runs over K = (input channel, kernel
 * row, kernel column) (see {@link LayerShape}); the two orders cut it differently:
 *
 * <ul>
 *   <li>{@link #KERNEL} (default): M consecutive positions of that K, so a group holds neighbouring taps of
 *       one input channel's kernel (4 of a 3x3 kernel's 9 taps, the last straddling into the next channel);
 *   <li>{@link #CHANNEL}: M consecutive input channels at the same kernel position, the K order
 *       (kernel row, kernel column, input channel) of channels-last layouts, which NVIDIA's 2:4 hardware
 *       and Apex ASP use. Keeping 2 of 4 channels at each tap lets a layer keep its important input
 *       channels whole instead of half of every kernel.
 * </ul>
 *
 * For dense layers and 1x1 convolutions the two are the same. Masks are always stored in the weights'
 * own layout; the order only says which positions a group spans ({@link #originalK}).
 */
public enum NmGroupOrder {
    KERNEL,
    CHANNEL;

    /** Original K index (input channel * kernelSize + tap) of position {@code p} in this order. */
    public int originalK(LayerShape shape, int p) {
        if (this == KERNEL) {
            return p;
        }
        int c = shape.inputChannels();
        return (p % c) * shape.kernelSize() + p / c;
    }

    /** Position in this order of original K index {@code k} (the inverse of {@link #originalK}). */
    public int position(LayerShape shape, int k) {
        if (this == KERNEL) {
            return k;
        }
        int ks = shape.kernelSize();
        return (k % ks) * shape.inputChannels() + k / ks;
    }

    /**
     * The original K index of every position ({@link #originalK} for p = 0..K-1), or null when this order is the
     * stored one for a layer of this shape (see {@link #permutes}).
     */
    public int[] originalKs(LayerShape shape) {
        if (!permutes(shape)) {
            return null;
        }
        int[] out = new int[shape.k()];
        for (int p = 0; p < out.length; p++) {
            out[p] = originalK(shape, p);
        }
        return out;
    }

    /** Whether this order differs from {@link #KERNEL} for a layer of this shape. */
    public boolean permutes(LayerShape shape) {
        return this == CHANNEL && shape.kernelSize() > 1 && shape.inputChannels() > 1;
    }

    /** Lower-case name, as in options and reports. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses "kernel" or "channel" (any case); the error names the accepted values. */
    public static NmGroupOrder parse(String s) {
        for (NmGroupOrder o : values()) {
            if (o.name().equalsIgnoreCase(s == null ? "" : s.trim())) {
                return o;
            }
        }
        throw new IllegalArgumentException("unknown N:M group order '" + s + "': expected kernel or channel");
    }
}
