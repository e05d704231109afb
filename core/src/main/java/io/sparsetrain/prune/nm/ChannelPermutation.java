package io.sparsetrain.prune.nm;

import io.sparsetrain.prune.LayerShape;
import java.util.Arrays;

/**
 * A permutation of a layer's input channels for N:M pruning, with the kept magnitude it achieves.
 *
 * <p>{@code order[slot]} is the original input channel placed at position {@code slot}. In the permuted
 * GEMM view, K position {@code p} holds original K index {@code order[p / ks] * ks + p % ks}
 * (ks = kh*kw, 1 for dense layers): each channel's kernel moves as one piece, so the N:M groups of M
 * consecutive positions are formed along the permuted K. A layer that stores compressed N:M weights
 * stores them permuted ({@link #permuteWeights}) and permutes its input the same way: the im2col rows
 * of a convolution, or equivalently the output channels of the previous layer (and its BatchNorm), or
 * the input features of a dense layer. Masks are always reported in the original layout.
 */
public final class ChannelPermutation {
    private final int[] order;
    private final int kernelSize;
    private final double keptBefore;
    private final double keptAfter;
    private final int swaps;
    private final long evaluations;

    ChannelPermutation(int[] order, int kernelSize, double keptBefore, double keptAfter, int swaps,
                       long evaluations) {
        this.order = order;
        this.kernelSize = kernelSize;
        this.keptBefore = keptBefore;
        this.keptAfter = keptAfter;
        this.swaps = swaps;
        this.evaluations = evaluations;
    }

    /** The identity permutation for a layer of this shape (kept magnitudes unknown, reported as NaN). */
    public static ChannelPermutation identity(LayerShape shape) {
        int[] order = new int[shape.inputChannels()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        return new ChannelPermutation(order, shape.kernelSize(), Double.NaN, Double.NaN, 0, 0);
    }

    /** A given permutation of input channels; checked to be a permutation. */
    public static ChannelPermutation of(LayerShape shape, int[] order) {
        checkPermutation(order, shape.inputChannels());
        return new ChannelPermutation(order.clone(), shape.kernelSize(), Double.NaN, Double.NaN, 0, 0);
    }

    static void checkPermutation(int[] order, int channels) {
        if (order.length != channels) {
            throw new IllegalArgumentException(
                    "permutation has " + order.length + " entries, the layer has " + channels + " input channels");
        }
        boolean[] seen = new boolean[channels];
        for (int i = 0; i < order.length; i++) {
            int c = order[i];
            if (c < 0 || c >= channels || seen[c]) {
                throw new IllegalArgumentException("not a permutation of 0.." + (channels - 1) + ": entry " + i
                        + " is " + c);
            }
            seen[c] = true;
        }
    }

    /** Input channel count. */
    public int channels() {
        return order.length;
    }

    /** Original channel at permuted position {@code slot}. */
    public int channelAt(int slot) {
        return order[slot];
    }

    /** A copy of {@code order}: slot to original channel. */
    public int[] order() {
        return order.clone();
    }

    /** Original channel to slot. */
    public int[] inverse() {
        int[] inv = new int[order.length];
        for (int i = 0; i < order.length; i++) {
            inv[order[i]] = i;
        }
        return inv;
    }

    public boolean isIdentity() {
        for (int i = 0; i < order.length; i++) {
            if (order[i] != i) {
                return false;
            }
        }
        return true;
    }

    /** Original K index at permuted K position p. */
    public int originalK(int p) {
        return order[p / kernelSize] * kernelSize + p % kernelSize;
    }

    /** The weights with input channels permuted, in the same storage layout. */
    public float[] permuteWeights(float[] weights, LayerShape shape) {
        if (shape.inputChannels() != order.length || shape.kernelSize() != kernelSize) {
            throw new IllegalArgumentException("permutation for " + order.length + " channels of kernel size "
                    + kernelSize + " does not fit layer " + shape);
        }
        if (weights.length != shape.size()) {
            throw new IllegalArgumentException(
                    "weights has length " + weights.length + ", shape " + shape + " has " + shape.size());
        }
        float[] out = new float[weights.length];
        for (int r = 0; r < shape.outputs(); r++) {
            for (int p = 0; p < shape.k(); p++) {
                out[shape.index(r, p)] = weights[shape.index(r, originalK(p))];
            }
        }
        return out;
    }

    /** Sum of kept |w| under N:M before the search (identity order); NaN if not from a search. */
    public double keptMagnitudeBefore() {
        return keptBefore;
    }

    /** Sum of kept |w| under N:M with this permutation; NaN if not from a search. */
    public double keptMagnitudeAfter() {
        return keptAfter;
    }

    /** keptMagnitudeAfter - keptMagnitudeBefore, never negative for a search result. */
    public double improvement() {
        return keptAfter - keptBefore;
    }

    /** Improvement as a fraction of the kept magnitude before. */
    public double relativeImprovement() {
        return keptBefore > 0 ? improvement() / keptBefore : 0.0;
    }

    /** Accepted swaps. */
    public int swaps() {
        return swaps;
    }

    /** Swaps evaluated. */
    public long evaluations() {
        return evaluations;
    }

    @Override
    public String toString() {
        return String.format("ChannelPermutation[%d channels, %d swaps of %d evaluated, kept %.6g -> %.6g (%+.3f%%)]",
                order.length, swaps, evaluations, keptBefore, keptAfter, 100 * relativeImprovement());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ChannelPermutation && kernelSize == ((ChannelPermutation) o).kernelSize
                && Arrays.equals(order, ((ChannelPermutation) o).order);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(order) * 31 + kernelSize;
    }
}
