package io.sparsetrain.learn.alloc;

import io.sparsetrain.prune.PrunableLayer;
import java.util.List;

/**
 * The uniform baseline of METHODS.md section 3: the same sparsity s in every layer. Layer l gets
 * s * N_l zeros, rounded so that the total is exactly round(s * sum N_l) (largest remainders) and
 * every layer keeps at least one weight.
 */
public final class UniformAllocation {
    public static final String NAME = "uniform";

    private UniformAllocation() {
    }

    /**
     * @param layers the prunable layers
     * @param targetSparsity fraction of zeros over all given layers, in [0, 1)
     */
    public static SparsityBudget allocate(List<PrunableLayer> layers, double targetSparsity) {
        Allocations.check(layers, targetSparsity);
        int n = layers.size();
        double[] ideal = new double[n];
        long[] cap = new long[n];
        long total = 0;
        for (int l = 0; l < n; l++) {
            int size = layers.get(l).size();
            ideal[l] = targetSparsity * size;
            cap[l] = size - 1; // at least one weight stays
            total += size;
        }
        long target = Math.round(targetSparsity * total);
        return Allocations.budget(NAME, layers, targetSparsity, target, SparsityBudget.roundToTotal(ideal, cap, target));
    }
}
