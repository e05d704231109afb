package io.sparsetrain.prune;

import java.util.Objects;

/**
 * A named weight tensor that a pruning method may mask: a flat {@code float[]} in the storage layout
 * of its {@link LayerShape}. The array is NOT copied (layers can be large); do not modify it while a
 * mask is being computed. Biases, BatchNorm parameters and grouped/depthwise convolutions are not
 * prunable layers and should not be wrapped.
 */
public final class PrunableLayer {
    private final String name;
    private final LayerShape shape;
    private final float[] weights;

    /**
     * @throws IllegalArgumentException if the array length does not match the shape or a weight is not finite
     */
    public PrunableLayer(String name, LayerShape shape, float[] weights) {
        this.name = Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("layer name must not be empty");
        }
        this.shape = Objects.requireNonNull(shape, "shape");
        this.weights = Objects.requireNonNull(weights, "weights");
        if (weights.length != shape.size()) {
            throw new IllegalArgumentException("layer " + name + ": weights has length " + weights.length
                    + " but shape " + shape + " has " + shape.size() + " weights");
        }
        for (int i = 0; i < weights.length; i++) {
            if (!Float.isFinite(weights[i])) {
                throw new IllegalArgumentException(
                        "layer " + name + ": weight " + i + " is " + weights[i] + "; masks need finite weights");
            }
        }
    }

    public String name() {
        return name;
    }

    public LayerShape shape() {
        return shape;
    }

    /** The weights themselves (not a copy). */
    public float[] weights() {
        return weights;
    }

    /** Number of weights. */
    public int size() {
        return weights.length;
    }

    @Override
    public String toString() {
        return name + " " + shape;
    }
}
