package io.sparsetrain.prune.method;

import java.util.Arrays;

/** Deterministic magnitude orderings shared by the mask makers: ties go to the lower index. */
final class Ranking {
    private Ranking() {
    }

    /** Sort key of a non-negative finite score and an index: orders by score, then index. */
    static long key(float score, int index) {
        assert score >= 0 && Float.isFinite(score) && index >= 0;
        return ((long) Float.floatToRawIntBits(score) << 32) | index;
    }

    static int indexOf(long key) {
        return (int) (key & 0xFFFFFFFFL);
    }

    /**
     * Clears {@code count} kept entries of {@code keep}: those with the smallest |w|, skipping the
     * protected ones (may be null).
     */
    static void pruneSmallestKept(float[] w, boolean[] keep, int count, boolean[] protect) {
        if (count <= 0) {
            return;
        }
        long[] keys = new long[w.length];
        int n = 0;
        for (int i = 0; i < w.length; i++) {
            if (keep[i] && (protect == null || !protect[i])) {
                keys[n++] = key(Math.abs(w[i]), i);
            }
        }
        if (count > n) {
            throw new IllegalStateException("asked to prune " + count + " more weights, only " + n + " are prunable");
        }
        Arrays.sort(keys, 0, n);
        for (int j = 0; j < count; j++) {
            keep[indexOf(keys[j])] = false;
        }
    }

    /** Storage indices of kernel (row, channel) in K order. */
    static void kernelIndices(io.sparsetrain.prune.LayerShape shape, int row, int channel, int[] out) {
        int ks = shape.kernelSize();
        for (int e = 0; e < ks; e++) {
            out[e] = shape.index(row, channel * ks + e);
        }
    }

    /** Sorts idx[0..len) by |w| descending, ties by index ascending (insertion sort: kernels are small). */
    static void sortByAbsDescending(float[] w, int[] idx, int len) {
        for (int i = 1; i < len; i++) {
            int x = idx[i];
            float ax = Math.abs(w[x]);
            int j = i - 1;
            while (j >= 0 && (Math.abs(w[idx[j]]) < ax || (Math.abs(w[idx[j]]) == ax && idx[j] > x))) {
                idx[j + 1] = idx[j];
                j--;
            }
            idx[j + 1] = x;
        }
    }
}
