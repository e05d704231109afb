package io.sparsetrain.nn.layers;

import io.sparsetrain.kernels.NmFormat;
import io.sparsetrain.kernels.NmMatrix;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The weight/mask bookkeeping shared by the sparse layers: reads W*M for the kernels, re-masks the
 * parameter when an update left non-zeros at masked positions, and keeps the compressed N:M matrix
 * of a frozen mask. The N:M pattern (indices, kernel layouts) is built once per mask; each step only
 * refreshes its values from the updated weights ({@link NmMatrix#withValues}).
 */
final class MaskedWeights {

    private final char order;
    private final int rows;
    private final int k;
    // frozen N:M cache (transient: rebuilt from W and M when needed)
    private float[] patternMask;
    private NmMatrix pattern;
    private NmFormat patternFormat;
    private float[] patternWeights; // the masked weights pattern holds (never written after the pass that read them)
    // W as read before masking, when patternWeights is known to be it times patternMask; null if unknown
    private float[] patternRaw;
    private int[] patternOrder; // the K order the pattern was built in (null: as stored)

    MaskedWeights(char order, int rows, int k) {
        this.order = order;
        this.rows = rows;
        this.k = k;
    }

    char order() {
        return order;
    }

    /**
     * Reads W, multiplies by M and, if {@code fixParam}, writes W*M back into the parameter when
     * some masked weight was non-zero (an updater step with momentum/Adam state can do that).
     */
    Pair masked(INDArray w, INDArray m, boolean fixParam) {
        float[] wv = NdFloats.read(w, order);
        float[] mv = NdFloats.read(m, order);
        if (zeroMasked(wv, mv) > 0 && fixParam) {
            NdFloats.write(wv, w, order);
        }
        return new Pair(wv, mv);
    }

    /**
     * {@link #masked} for an inference pass on a frozen N:M mask: when W and M, as read, are exactly what the
     * cached compressed matrix was built from, returns the masked weights it holds without masking again (the
     * masking loop branches on every weight: with an N:M mask half of them are masked in no predictable order,
     * and it cost more than the rest of the weight handling); otherwise masks as {@link #masked} does, without
     * writing to the parameter, and rebuilds the compressed matrix from the result ({@link #compressed} with
     * the returned arrays then finds it current).
     */
    Pair maskedForInference(INDArray w, INDArray m, NmFormat nm, int[] kOrder) {
        float[] wv = NdFloats.read(w, order);
        float[] mv = NdFloats.read(m, order);
        if (patternRaw != null && kOrder == patternOrder && Arrays.equals(mv, patternMask) && Arrays.equals(wv, patternRaw)) {
            return new Pair(patternWeights, patternMask);
        }
        float[] raw = wv.clone();
        zeroMasked(wv, mv);
        compressed(wv, mv, nm, kOrder);
        patternRaw = raw;
        return new Pair(wv, mv);
    }

    /** Masked weights and the mask, both in storage order. */
    record Pair(float[] weights, float[] mask) {
    }

    /** W *= M on the parameters; returns the number of weights zeroed. */
    int enforce(INDArray w, INDArray m) {
        float[] wv = NdFloats.read(w, order);
        float[] mv = NdFloats.read(m, order);
        int leaked = zeroMasked(wv, mv);
        if (leaked > 0) {
            NdFloats.write(wv, w, order);
        }
        return leaked;
    }

    /** Zeroes {@code w} where {@code mask} is 0; returns how many of those weights were non-zero. */
    private static int zeroMasked(float[] w, float[] mask) {
        int leaked = 0;
        for (int i = 0; i < w.length; i++) {
            if (mask[i] == 0f && w[i] != 0f) {
                w[i] = 0f;
                leaked++;
            }
        }
        return leaked;
    }

    /**
     * The compressed weights for a frozen N:M mask {@code mask} (the mask parameter as read for this pass): the
     * pattern is rebuilt only when the mask changed, the values only when the weights changed since the last pass
     * (inference: the same matrix, its kernel layouts included, serves every pass).
     *
     * @param kOrder null when the N:M groups run along K as stored; else the K order of the groups (position p holds
     *     stored K index {@code kOrder[p]}), in which the compressed matrix is built: its products then expect
     *     their K rows in that order
     */
    NmMatrix compressed(float[] maskedWeights, float[] mask, NmFormat nm, int[] kOrder) {
        if (pattern == null || !nm.equals(patternFormat) || kOrder != patternOrder || !Arrays.equals(mask, patternMask)) {
            pattern = NmMatrix.fromDense(inOrder(maskedWeights, kOrder), inOrder(mask, kOrder), rows, k, nm.n(), nm.m());
            patternOrder = kOrder;
            patternMask = mask;
            patternFormat = nm;
            patternWeights = maskedWeights;
            patternRaw = null;
            return pattern;
        }
        if (!Arrays.equals(maskedWeights, patternWeights)) {
            pattern = pattern.withValues(inOrder(maskedWeights, kOrder));
            patternWeights = maskedWeights;
            patternRaw = null;
        }
        return pattern;
    }

    /** {@code a} [rows, k] with each row's K positions in {@code kOrder} ({@code a} itself when null). */
    float[] inOrder(float[] a, int[] kOrder) {
        return reorder(a, kOrder, false);
    }

    /** The inverse of {@link #inOrder}: {@code a} [rows, k] in {@code kOrder} back to the stored order. */
    float[] fromOrder(float[] a, int[] kOrder) {
        return reorder(a, kOrder, true);
    }

    private float[] reorder(float[] a, int[] kOrder, boolean back) {
        if (kOrder == null) {
            return a;
        }
        float[] out = new float[a.length];
        for (int r = 0; r < rows; r++) {
            int o = r * k;
            for (int p = 0; p < k; p++) {
                if (back) {
                    out[o + kOrder[p]] = a[o + p];
                } else {
                    out[o + p] = a[o + kOrder[p]];
                }
            }
        }
        return out;
    }

    /** Checks that {@code mask} is 0/1 and of the right length; throws naming the layer. */
    static void checkMask(String layer, float[] mask, int expected) {
        if (mask.length != expected) {
            throw new IllegalArgumentException("layer " + layer + ": mask has " + mask.length + " entries, weights have " + expected);
        }
        for (int i = 0; i < mask.length; i++) {
            if (mask[i] != 0f && mask[i] != 1f) {
                throw new IllegalArgumentException("layer " + layer + ": mask entry " + i + " is " + mask[i] + ", expected 0 or 1");
            }
        }
    }

    /** Checks that {@code mask} [rows, k] keeps at most N of every M along k (in {@code kOrder} when not null). */
    static void checkNm(String layer, float[] mask, int rows, int k, NmFormat nm, int[] kOrder) {
        for (int r = 0; r < rows; r++) {
            for (int g0 = 0; g0 < k; g0 += nm.m()) {
                int kept = 0;
                for (int i = g0; i < Math.min(k, g0 + nm.m()); i++) {
                    kept += mask[r * k + (kOrder == null ? i : kOrder[i])] != 0f ? 1 : 0;
                }
                if (kept > nm.n()) {
                    throw new IllegalArgumentException("layer " + layer + ": mask row " + r + " group " + (g0 / nm.m()) + " keeps "
                            + kept + " weights, a " + nm + " mask keeps at most " + nm.n());
                }
            }
        }
    }

    void clearCache() {
        patternRaw = null;
        pattern = null;
        patternMask = null;
        patternFormat = null;
        patternWeights = null;
        patternOrder = null;
    }
}
