package io.sparsetrain.prune.global;

import io.sparsetrain.prune.LayerShape;

/**
 * One row of a {@link GlobalPruningResult}: how many weights of a layer are pruned.
 *
 * @param name layer name
 * @param shape layer shape
 * @param method name of the pruning method, or "-" for an excluded layer
 * @param role whether the layer was pruned to an allocated count, has a fixed N:M count, or was excluded
 * @param weights weights in the layer
 * @param zeros pruned weights
 */
public record LayerSparsity(String name, LayerShape shape, String method, Role role, int weights, int zeros) {

    /** How the controller treated a layer. */
    public enum Role {
        /** Pruned to a count allocated by the controller. */
        ALLOCATED,
        /** Sparsity fixed by structure (N:M); counts toward the global target. */
        FIXED,
        /** Left dense and outside the prunable weights. */
        EXCLUDED
    }

    /** Fraction of zeros, 0..1. */
    public double sparsity() {
        return zeros / (double) weights;
    }
}
