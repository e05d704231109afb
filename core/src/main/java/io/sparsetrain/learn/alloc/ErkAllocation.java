package io.sparsetrain.learn.alloc;

import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.PrunableLayer;
import java.util.List;

/**
 * The Erdos-Renyi-Kernel baseline of METHODS.md section 3 (Evci et al., RigL): the density (kept
 * fraction) of layer l is proportional to (Cin + Cout + kh + kw) / (Cin * Cout * kh * kw) for a
 * convolution and (in + out) / (in * out) for a dense layer, scaled so that the kept weights are
 * (1 - s) * sum N_l. A layer whose density would exceed 1 is made dense and the scale is recomputed over
 * the others, until feasible. Counts are rounded so the total is exactly round(s * sum N_l) zeros, and
 * every layer keeps at least one weight. Small layers get lower sparsity than large ones.
 */
public final class ErkAllocation {
    public static final String NAME = "erk";

    private ErkAllocation() {
    }

    /** The ERK score (unscaled density) of a layer shape. */
    public static double score(LayerShape s) {
        if (s.isConv()) {
            double cin = s.inputChannels();
            double cout = s.outputs();
            double kh = s.kernelHeight();
            double kw = s.kernelWidth();
            return (cin + cout + kh + kw) / (cin * cout * kh * kw);
        }
        double in = s.inputChannels();
        double out = s.outputs();
        return (in + out) / (in * out);
    }

    /**
     * @param layers the prunable layers
     * @param targetSparsity fraction of zeros over all given layers, in [0, 1)
     */
    public static SparsityBudget allocate(List<PrunableLayer> layers, double targetSparsity) {
        Allocations.check(layers, targetSparsity);
        int n = layers.size();
        long total = 0;
        for (PrunableLayer l : layers) {
            total += l.size();
        }
        long target = Math.round(targetSparsity * total);
        double keptBudget = total - target;
        boolean[] dense = new boolean[n];
        double eps = 0;
        for (int round = 0; round <= n; round++) {
            double denseWeights = 0;
            double scored = 0;
            for (int l = 0; l < n; l++) {
                int size = layers.get(l).size();
                if (dense[l]) {
                    denseWeights += size;
                } else {
                    scored += score(layers.get(l).shape()) * size;
                }
            }
            eps = scored > 0 ? (keptBudget - denseWeights) / scored : 0;
            boolean changed = false;
            for (int l = 0; l < n; l++) {
                if (!dense[l] && eps * score(layers.get(l).shape()) > 1) {
                    dense[l] = true; // density capped at 1, the excess goes to the others
                    changed = true;
                }
            }
            if (!changed) {
                break;
            }
        }
        double[] ideal = new double[n];
        long[] cap = new long[n];
        for (int l = 0; l < n; l++) {
            int size = layers.get(l).size();
            double density = dense[l] ? 1 : eps * score(layers.get(l).shape());
            ideal[l] = Math.max(0, size * (1 - density));
            cap[l] = size - 1;
        }
        return Allocations.budget(NAME, layers, targetSparsity, target, SparsityBudget.roundToTotal(ideal, cap, target));
    }
}
