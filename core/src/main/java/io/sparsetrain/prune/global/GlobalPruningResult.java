package io.sparsetrain.prune.global;

import io.sparsetrain.prune.MaskChecksum;
import io.sparsetrain.prune.MaskSet;
import java.util.List;

/**
 * Masks from {@link GlobalSparsityController#computeMasks} and their per-layer report. The mask set
 * holds one mask per prunable layer (excluded layers have none and stay dense). Global sparsity is
 * zeros over all prunable weights; excluded layers appear in the report but not in that fraction.
 */
public final class GlobalPruningResult {
    private final double targetSparsity;
    private final MaskSet masks;
    private final List<LayerSparsity> layers;
    private final long prunableWeights;
    private final long prunableZeros;
    private final long targetZeros;

    GlobalPruningResult(double targetSparsity, long targetZeros, MaskSet masks, List<LayerSparsity> layers) {
        this.targetSparsity = targetSparsity;
        this.targetZeros = targetZeros;
        this.masks = masks;
        this.layers = List.copyOf(layers);
        long n = 0;
        long z = 0;
        for (LayerSparsity l : layers) {
            if (l.role() != LayerSparsity.Role.EXCLUDED) {
                n += l.weights();
                z += l.zeros();
            }
        }
        this.prunableWeights = n;
        this.prunableZeros = z;
    }

    public MaskSet masks() {
        return masks;
    }

    /** One row per input layer, in input order. */
    public List<LayerSparsity> layers() {
        return layers;
    }

    /** The row of a layer. */
    public LayerSparsity layer(String name) {
        for (LayerSparsity l : layers) {
            if (l.name().equals(name)) {
                return l;
            }
        }
        throw new IllegalArgumentException("no layer named " + name + " in this result");
    }

    public double targetSparsity() {
        return targetSparsity;
    }

    /** round(target * prunable weights). */
    public long targetZeros() {
        return targetZeros;
    }

    public long prunableWeights() {
        return prunableWeights;
    }

    public long prunableZeros() {
        return prunableZeros;
    }

    /** Zeros over all prunable weights, 0..1. */
    public double globalSparsity() {
        return prunableZeros / (double) prunableWeights;
    }

    /** Zeros over all weights of the layers given, excluded ones included. */
    public double overallSparsity() {
        long n = 0;
        for (LayerSparsity l : layers) {
            n += l.weights();
        }
        return prunableZeros / (double) n;
    }

    /** A fixed-width table for the job log. */
    public String toTable() {
        StringBuilder sb = new StringBuilder();
        int w = 5;
        for (LayerSparsity l : layers) {
            w = Math.max(w, l.name().length());
        }
        String row = "%-" + w + "s  %-22s  %-12s  %-9s  %10s  %10s  %8s%n";
        sb.append(String.format(row, "layer", "shape", "method", "role", "weights", "zeros", "sparsity"));
        for (LayerSparsity l : layers) {
            sb.append(String.format(row, l.name(), l.shape(), l.method(), l.role().name().toLowerCase(),
                    l.weights(), l.zeros(), String.format("%.4f", l.sparsity())));
        }
        sb.append(String.format("global: %d of %d prunable weights pruned, sparsity %.5f (target %.5f, %+d weights);"
                        + " over all layers %.5f; mask checksum %s%n",
                prunableZeros, prunableWeights, globalSparsity(), targetSparsity, prunableZeros - targetZeros,
                overallSparsity(), MaskChecksum.hex(masks.checksum())));
        return sb.toString();
    }

    @Override
    public String toString() {
        return toTable();
    }
}
