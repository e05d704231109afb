package io.sparsetrain.prune.method;

import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskMaker;
import io.sparsetrain.prune.PrunableLayer;
import java.util.Arrays;

/**
 * Combined pruning (Campfire section 2.1.1, Algorithm 4): window pruning to {@code windowFraction * s}
 * first, then CK pruning for the rest, so that kernels emptied by the window phase go first.
 *
 * <p>Exactness: the window phase is exact (see {@link WindowPruner}); the CK phase then removes whole
 * kernels in ascending order of the max |w| of their surviving weights while the layer stays at or below
 * the requested count, stopping at the first kernel that would overshoot; the remainder (fewer weights
 * than that kernel holds) is pruned by magnitude among the survivors. Extra zeros never break the window
 * cap, so the result has exactly the requested zeros and kernels within the window phase's cap.
 * Layers with kernel size 1 get plain magnitude pruning.
 */
public final class CombinedPruner implements MaskMaker {
    /** Share of the layer's sparsity reached by window pruning (the paper uses 0.8). */
    public static final double DEFAULT_WINDOW_FRACTION = 0.8;

    private final double windowFraction;

    /** With {@link #DEFAULT_WINDOW_FRACTION}. */
    public CombinedPruner() {
        this(DEFAULT_WINDOW_FRACTION);
    }

    /** @param windowFraction share of the sparsity reached by window pruning, in [0, 1] */
    public CombinedPruner(double windowFraction) {
        if (!(windowFraction >= 0 && windowFraction <= 1)) {
            throw new IllegalArgumentException("windowFraction must be in [0, 1], got " + windowFraction);
        }
        this.windowFraction = windowFraction;
    }

    public double windowFraction() {
        return windowFraction;
    }

    @Override
    public String name() {
        return "combined";
    }

    @Override
    public Mask makeMaskWithZeros(PrunableLayer layer, int zeros) {
        MaskMaker.checkZeros(this, layer, zeros);
        LayerShape s = layer.shape();
        float[] w = layer.weights();
        int ks = s.kernelSize();
        if (ks == 1) {
            return Mask.fromKeep(s, MagnitudePruner.keep(w, zeros));
        }
        int windowZeros = (int) Math.round(windowFraction * zeros);
        boolean[] keep = WindowPruner.keep(layer, windowZeros);

        int cin = s.inputChannels();
        long[] keys = new long[s.kernelCount()];
        int[] keptIn = new int[s.kernelCount()];
        int[] idx = new int[ks];
        int candidates = 0;
        for (int o = 0; o < s.outputs(); o++) {
            for (int c = 0; c < cin; c++) {
                Ranking.kernelIndices(s, o, c, idx);
                float max = 0f;
                int kept = 0;
                for (int e = 0; e < ks; e++) {
                    if (keep[idx[e]]) {
                        kept++;
                        max = Math.max(max, Math.abs(w[idx[e]]));
                    }
                }
                keptIn[o * cin + c] = kept;
                if (kept > 0) {
                    keys[candidates++] = Ranking.key(max, o * cin + c);
                }
            }
        }
        Arrays.sort(keys, 0, candidates);
        int z = windowZeros;
        for (int j = 0; j < candidates; j++) {
            int kernel = Ranking.indexOf(keys[j]);
            if (z + keptIn[kernel] > zeros) {
                break; // the next kernel would overshoot
            }
            Ranking.kernelIndices(s, kernel / cin, kernel % cin, idx);
            for (int e = 0; e < ks; e++) {
                keep[idx[e]] = false;
            }
            z += keptIn[kernel];
        }
        Ranking.pruneSmallestKept(w, keep, zeros - z, null); // less than one kernel left
        return Mask.fromKeep(s, keep);
    }

    @Override
    public String toString() {
        return "CombinedPruner{windowFraction=" + windowFraction + "}";
    }
}
