package io.sparsetrain.learn.alloc;

import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Turns learned per-layer thresholds into masks whose global sparsity is exactly the target (METHODS.md
 * section 3: "fix the rounding with an exact global correction, never by hoping the loss converged").
 *
 * <p>Every weight gets the score |w| / T_l, its magnitude relative to its layer's learned threshold
 * T_l (weight units), so the learned masks are {score &lt;= 1}. Scaling all thresholds by one common
 * factor c keeps the learned allocation's shape and prunes {score &lt;= c}. c is found by bisection on the
 * true counted (not KDE) number of zeros; the last few weights inside the final bracket (ties and the
 * one-weight granularity) are taken in global order of score, then layer order, then storage index.
 * The result prunes exactly Z = round(r_0 * sum_l N_l) weights: the global sparsity is exact to one
 * weight (the rounding of r_0 * N), far inside the 0.1 percentage point tolerance, and equals
 * "prune the Z smallest scores". Deterministic; weights are only read.
 */
public final class ExactCorrection {
    /** Bisection stops once the bracket (lo, hi] holds at most this many weights; they are then sorted. */
    static final long MAX_BRACKET = 4096;

    private ExactCorrection() {
    }

    /**
     * @param layers the layers, names unique
     * @param weightThresholds learned T_l in weight units (prune |w| &lt;= T_l), each finite and &gt; 0
     * @param targetSparsity r_0, fraction of zeros over all given layers, in [0, 1]
     */
    public static CorrectedAllocation apply(List<PrunableLayer> layers, double[] weightThresholds,
                                            double targetSparsity) {
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("layers must not be empty");
        }
        if (weightThresholds.length != layers.size()) {
            throw new IllegalArgumentException("need one threshold per layer, " + layers.size() + ", got "
                    + weightThresholds.length);
        }
        if (!(targetSparsity >= 0 && targetSparsity <= 1)) {
            throw new IllegalArgumentException("targetSparsity must be in [0, 1], got " + targetSparsity);
        }
        Set<String> names = new HashSet<>();
        long total = 0;
        for (int l = 0; l < layers.size(); l++) {
            PrunableLayer layer = layers.get(l);
            if (!names.add(layer.name())) {
                throw new IllegalArgumentException("duplicate layer name " + layer.name());
            }
            double t = weightThresholds[l];
            if (!(t > 0) || Double.isInfinite(t)) {
                throw new IllegalArgumentException("threshold of layer " + layer.name()
                        + " must be finite and > 0, got " + t);
            }
            total += layer.size();
        }
        long target = Math.round(targetSparsity * total);

        // bisection on the common factor c: count(lo) <= target < count(hi) (or count(lo) == target)
        double lo = -1;
        double hi = 0;
        for (int l = 0; l < layers.size(); l++) {
            for (float w : layers.get(l).weights()) {
                hi = Math.max(hi, Math.abs(w) / weightThresholds[l]);
            }
        }
        long countLo = 0;
        long countHi = total;
        if (target == total) {
            lo = hi;
            countLo = total;
        }
        // stop when the bracket holds few enough weights to sort; 200 halvings leave only exact ties
        for (int it = 0; it < 200 && countLo != target && countHi - countLo > MAX_BRACKET; it++) {
            double mid = 0.5 * (lo + hi);
            if (!(mid > lo && mid < hi)) {
                break; // adjacent doubles: the rest are ties
            }
            long c = count(layers, weightThresholds, mid);
            if (c <= target) {
                lo = mid;
                countLo = c;
            } else {
                hi = mid;
                countHi = c;
            }
        }
        // the last (target - countLo) weights from the bracket (lo, hi], by score, then layer, then index
        List<double[]> candidates = new ArrayList<>();
        if (countLo < target) {
            for (int l = 0; l < layers.size(); l++) {
                float[] w = layers.get(l).weights();
                for (int i = 0; i < w.length; i++) {
                    double s = Math.abs(w[i]) / weightThresholds[l];
                    if (s > lo && s <= hi) {
                        candidates.add(new double[] {s, l, i});
                    }
                }
            }
            candidates.sort((a, b) -> a[0] != b[0] ? Double.compare(a[0], b[0])
                    : a[1] != b[1] ? Double.compare(a[1], b[1]) : Double.compare(a[2], b[2]));
            assert candidates.size() >= target - countLo : candidates.size() + " < " + (target - countLo);
        }
        boolean[][] extra = new boolean[layers.size()][];
        double factor = countLo > 0 ? lo : 0;
        for (int j = 0; j < target - countLo; j++) {
            double[] c = candidates.get(j);
            int l = (int) c[1];
            if (extra[l] == null) {
                extra[l] = new boolean[layers.get(l).size()];
            }
            extra[l][(int) c[2]] = true;
            factor = Math.max(factor, c[0]);
        }

        MaskSet.Builder masks = MaskSet.builder();
        List<CorrectedAllocation.Row> rows = new ArrayList<>();
        long zeros = 0;
        for (int l = 0; l < layers.size(); l++) {
            PrunableLayer layer = layers.get(l);
            float[] w = layer.weights();
            boolean[] keep = new boolean[w.length];
            Arrays.fill(keep, true);
            int learned = 0;
            int z = 0;
            for (int i = 0; i < w.length; i++) {
                double s = Math.abs(w[i]) / weightThresholds[l];
                if (s <= 1) {
                    learned++;
                }
                if (s <= lo || (extra[l] != null && extra[l][i])) {
                    keep[i] = false;
                    z++;
                }
            }
            zeros += z;
            masks.put(layer.name(), Mask.fromKeep(layer.shape(), keep));
            rows.add(new CorrectedAllocation.Row(layer.name(), layer.shape(), w.length, weightThresholds[l], learned,
                    weightThresholds[l] * factor, z));
        }
        if (zeros != target) {
            throw new IllegalStateException("exact correction pruned " + zeros + " weights, target " + target);
        }
        return new CorrectedAllocation(targetSparsity, target, factor, masks.build(), rows);
    }

    private static long count(List<PrunableLayer> layers, double[] thresholds, double c) {
        long n = 0;
        for (int l = 0; l < layers.size(); l++) {
            double t = thresholds[l];
            for (float w : layers.get(l).weights()) {
                if (Math.abs(w) / t <= c) {
                    n++;
                }
            }
        }
        return n;
    }

    /** Number of weights with |w| &lt;= t. */
    static int countAtOrBelow(float[] w, double t) {
        int n = 0;
        for (float x : w) {
            if (Math.abs(x) <= t) {
                n++;
            }
        }
        return n;
    }
}
