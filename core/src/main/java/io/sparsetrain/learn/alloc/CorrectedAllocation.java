package io.sparsetrain.learn.alloc;

import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.MaskChecksum;
import io.sparsetrain.prune.MaskSet;
import java.util.List;

/**
 * The masks of an {@link ExactCorrection} and its per-layer report: the learned threshold, what it alone
 * would prune, the corrected threshold (learned times the common factor) and the zeros of the final mask.
 */
public final class CorrectedAllocation {
    /**
     * One layer of the report.
     *
     * @param name layer name
     * @param shape layer shape
     * @param weights weights in the layer
     * @param learnedThreshold learned T_l, weight units
     * @param learnedZeros weights with |w| &lt;= T_l (the uncorrected mask's zeros)
     * @param correctedThreshold c * T_l, weight units
     * @param zeros zeros of the final mask
     */
    public record Row(String name, LayerShape shape, int weights, double learnedThreshold, int learnedZeros,
                      double correctedThreshold, int zeros) {
        /** Final sparsity of the layer, 0..1. */
        public double sparsity() {
            return zeros / (double) weights;
        }
    }

    private final double targetSparsity;
    private final long targetZeros;
    private final double scaleFactor;
    private final MaskSet masks;
    private final List<Row> rows;

    CorrectedAllocation(double targetSparsity, long targetZeros, double scaleFactor, MaskSet masks, List<Row> rows) {
        this.targetSparsity = targetSparsity;
        this.targetZeros = targetZeros;
        this.scaleFactor = scaleFactor;
        this.masks = masks;
        this.rows = List.copyOf(rows);
    }

    /** One mask per layer, in input order. */
    public MaskSet masks() {
        return masks;
    }

    public List<Row> rows() {
        return rows;
    }

    /** r_0 as given. */
    public double targetSparsity() {
        return targetSparsity;
    }

    /** round(r_0 * total weights). */
    public long targetZeros() {
        return targetZeros;
    }

    /** Common factor c applied to all learned thresholds (the largest pruned |w| / T_l). */
    public double scaleFactor() {
        return scaleFactor;
    }

    public long zeros() {
        return masks.zeroCount();
    }

    public long weights() {
        return masks.weightCount();
    }

    /** Zeros over all weights, 0..1. */
    public double globalSparsity() {
        return zeros() / (double) weights();
    }

    /** A fixed-width table for the job log. */
    public String toTable() {
        int w = 5;
        for (Row r : rows) {
            w = Math.max(w, r.name().length());
        }
        String fmt = "%-" + w + "s  %-22s  %10s  %12s  %12s  %12s  %10s  %8s%n";
        StringBuilder sb = new StringBuilder(String.format(fmt, "layer", "shape", "weights", "learned t",
                "learned zero", "corrected t", "zeros", "sparsity"));
        for (Row r : rows) {
            sb.append(String.format(fmt, r.name(), r.shape(), r.weights(), String.format("%.5g", r.learnedThreshold()),
                    r.learnedZeros(), String.format("%.5g", r.correctedThreshold()), r.zeros(),
                    String.format("%.4f", r.sparsity())));
        }
        sb.append(String.format("global: %d of %d weights pruned, sparsity %.5f (target %.5f, %+d weights),"
                        + " threshold factor %.5f, mask checksum %s%n", zeros(), weights(), globalSparsity(),
                targetSparsity, zeros() - targetZeros, scaleFactor, MaskChecksum.hex(masks.checksum())));
        return sb.toString();
    }

    @Override
    public String toString() {
        return toTable();
    }
}
