package io.sparsetrain.prune;

import java.util.Arrays;
import java.util.Objects;

/**
 * An immutable 0/1 pruning mask for one layer: bit i is 1 when {@code weights[i]} is kept and 0 when it
 * is pruned. Bits follow the storage layout of the {@link LayerShape} and are packed 64 per {@code long},
 * bit {@code i % 64} of word {@code i / 64}. Sparsity is the fraction of zeros, in [0, 1].
 */
public final class Mask {
    private final LayerShape shape;
    private final long[] words;
    private final int kept;

    private Mask(LayerShape shape, long[] words) {
        this.shape = shape;
        this.words = words;
        int c = 0;
        for (long w : words) {
            c += Long.bitCount(w);
        }
        this.kept = c;
    }

    static int wordCount(int size) {
        return (size + 63) >>> 6;
    }

    /** A mask that keeps every weight. */
    public static Mask allKept(LayerShape shape) {
        int n = shape.size();
        long[] w = new long[wordCount(n)];
        Arrays.fill(w, -1L);
        if ((n & 63) != 0) {
            w[w.length - 1] = (1L << (n & 63)) - 1; // clear bits past the end
        }
        return new Mask(shape, w);
    }

    /** A mask from a keep flag per weight (true = kept), in storage order. */
    public static Mask fromKeep(LayerShape shape, boolean[] keep) {
        Objects.requireNonNull(shape, "shape");
        if (keep.length != shape.size()) {
            throw new IllegalArgumentException(
                    "keep has length " + keep.length + " but shape " + shape + " has " + shape.size() + " weights");
        }
        long[] w = new long[wordCount(keep.length)];
        for (int i = 0; i < keep.length; i++) {
            if (keep[i]) {
                w[i >>> 6] |= 1L << (i & 63);
            }
        }
        return new Mask(shape, w);
    }

    /** A mask from a 0/1 float array; any other value is rejected. */
    public static Mask fromFloats(LayerShape shape, float[] values) {
        if (values.length != shape.size()) {
            throw new IllegalArgumentException(
                    "values has length " + values.length + " but shape " + shape + " has " + shape.size() + " weights");
        }
        boolean[] keep = new boolean[values.length];
        for (int i = 0; i < values.length; i++) {
            if (values[i] == 1f) {
                keep[i] = true;
            } else if (values[i] != 0f) {
                throw new IllegalArgumentException("mask value at " + i + " must be 0 or 1, got " + values[i]);
            }
        }
        return fromKeep(shape, keep);
    }

    /** A mask from packed words (bit i%64 of word i/64), e.g. read back from a file. */
    public static Mask fromWords(LayerShape shape, long[] words) {
        int n = shape.size();
        if (words.length != wordCount(n)) {
            throw new IllegalArgumentException("a mask of " + n + " weights needs " + wordCount(n)
                    + " words, got " + words.length);
        }
        if ((n & 63) != 0 && (words[words.length - 1] >>> (n & 63)) != 0) {
            throw new IllegalArgumentException("mask words have bits set past weight " + (n - 1));
        }
        return new Mask(shape, words.clone());
    }

    public LayerShape shape() {
        return shape;
    }

    public int size() {
        return shape.size();
    }

    /** True if storage index i is kept. */
    public boolean isKept(int i) {
        Objects.checkIndex(i, shape.size());
        return (words[i >>> 6] & (1L << (i & 63))) != 0;
    }

    /** True if GEMM-view element (row, kIndex) is kept; see {@link LayerShape#index(int, int)}. */
    public boolean isKept(int row, int kIndex) {
        return isKept(shape.index(row, kIndex));
    }

    public int keptCount() {
        return kept;
    }

    public int zeroCount() {
        return shape.size() - kept;
    }

    /** Fraction of pruned weights, in [0, 1]. */
    public double sparsity() {
        return zeroCount() / (double) shape.size();
    }

    /** Packed words (a copy). */
    public long[] toWords() {
        return words.clone();
    }

    /** Keep flags in storage order. */
    public boolean[] toKeepArray() {
        boolean[] keep = new boolean[shape.size()];
        for (int i = 0; i < keep.length; i++) {
            keep[i] = (words[i >>> 6] & (1L << (i & 63))) != 0;
        }
        return keep;
    }

    /** 1f for kept and 0f for pruned weights, in storage order (ready to multiply with the weights). */
    public float[] toFloatArray() {
        float[] f = new float[shape.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = (words[i >>> 6] & (1L << (i & 63))) != 0 ? 1f : 0f;
        }
        return f;
    }

    /** Sets every pruned weight of {@code weights} to zero, in place. */
    public void applyTo(float[] weights) {
        if (weights.length != shape.size()) {
            throw new IllegalArgumentException(
                    "weights has length " + weights.length + " but mask shape " + shape + " has " + shape.size());
        }
        for (int i = 0; i < weights.length; i++) {
            if ((words[i >>> 6] & (1L << (i & 63))) == 0) {
                weights[i] = 0f;
            }
        }
    }

    /** Weights kept by both masks. */
    public Mask and(Mask other) {
        if (!shape.equals(other.shape)) {
            throw new IllegalArgumentException("cannot combine masks of shapes " + shape + " and " + other.shape);
        }
        long[] w = words.clone();
        for (int i = 0; i < w.length; i++) {
            w[i] &= other.words[i];
        }
        return new Mask(shape, w);
    }

    /** 64-bit checksum of shape and bits; see {@link MaskChecksum}. */
    public long checksum() {
        return MaskChecksum.of(this);
    }

    long[] words() {
        return words;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Mask && shape.equals(((Mask) o).shape) && Arrays.equals(words, ((Mask) o).words);
    }

    @Override
    public int hashCode() {
        return shape.hashCode() * 31 + Arrays.hashCode(words);
    }

    @Override
    public String toString() {
        return String.format("Mask[%s, %d of %d kept, sparsity %.4f, checksum %s]",
                shape, kept, shape.size(), sparsity(), MaskChecksum.hex(checksum()));
    }
}
