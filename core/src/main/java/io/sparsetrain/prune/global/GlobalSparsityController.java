package io.sparsetrain.prune.global;

import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskMaker;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.method.FcPruner;
import io.sparsetrain.prune.method.MagnitudePruner;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns per-layer pruning methods and one global target sparsity into masks whose global sparsity
 * (zeros over all prunable weights, N:M layers included, excluded layers not counted) equals the target
 * to within 0.1 percentage point, whatever the methods (METHODS.md section 5: the driver owns the masks).
 *
 * <p>How the target is reached:
 * <ol>
 *   <li>Excluded layers (by default the first convolution and the classifier, i.e. the last dense
 *       layer) stay dense and leave the denominator.</li>
 *   <li>Layers whose method has a fixed sparsity (N:M) contribute their fixed zero count; the rest of
 *       the target, {@code round(target * N) - fixed}, is distributed over the other ("free") layers.
 *       A target below what the N:M layers already force is rejected.</li>
 *   <li>Allocation: every free layer l gets the same layer sparsity x scaled by an optional allocation
 *       weight a_l (default 1, i.e. uniform per-layer sparsity as in Campfire), capped by what its
 *       method can prune: {@code d_l = min(maxZeros_l, x * a_l * n_l)}. x is found by bisection so that
 *       the sum of d_l equals the remaining zeros.</li>
 *   <li>Each d_l is rounded to the method's unit ({@link MaskMaker#granularity}: one weight for
 *       magnitude, window, combined and dense block+fine pruning; a whole kernel, kh*kw weights, for CK).</li>
 *   <li>Exact correction: while the global count is off, one unit is added to (or removed from) the layer
 *       furthest behind (ahead of) its ideal d_l among those whose unit strictly reduces the error. With any
 *       layer of unit one among the free layers (a 1x1 convolution under CK, any magnitude, window,
 *       combined or dense layer) the result is exact to one weight; with whole-kernel units only, the
 *       error is below half a kernel (4 weights for 3x3), far inside 0.1 pp for real networks.</li>
 *   <li>Each method then builds its mask at its exact count (the {@link MaskMaker} contract), and the
 *       controller checks the count it got.</li>
 * </ol>
 * Immutable; build with {@link #builder()}.
 */
public final class GlobalSparsityController {
    private static final Logger LOG = LoggerFactory.getLogger(GlobalSparsityController.class);

    /** Leave the first convolution dense. */
    public static final boolean DEFAULT_EXCLUDE_FIRST_CONV = true;
    /** Leave the classifier (the last dense layer) dense. */
    public static final boolean DEFAULT_EXCLUDE_CLASSIFIER = true;
    /** Allowed |achieved - target| global sparsity, as a fraction (0.001 = 0.1 percentage point). */
    public static final double TOLERANCE = 0.001;

    private final MaskMaker convMethod;
    private final MaskMaker denseMethod;
    private final Map<String, MaskMaker> layerMethods;
    private final Set<String> excluded;
    private final Set<String> included;
    private final boolean excludeFirstConv;
    private final boolean excludeClassifier;
    private final Map<String, Double> allocationWeights;

    private GlobalSparsityController(Builder b) {
        this.convMethod = b.convMethod;
        this.denseMethod = b.denseMethod;
        this.layerMethods = Collections.unmodifiableMap(new LinkedHashMap<>(b.layerMethods));
        this.excluded = Collections.unmodifiableSet(new LinkedHashSet<>(b.excluded));
        this.included = Collections.unmodifiableSet(new LinkedHashSet<>(b.included));
        this.excludeFirstConv = b.excludeFirstConv;
        this.excludeClassifier = b.excludeClassifier;
        this.allocationWeights = Collections.unmodifiableMap(new LinkedHashMap<>(b.allocationWeights));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The method used for a layer, ignoring exclusion. */
    public MaskMaker methodFor(PrunableLayer layer) {
        MaskMaker m = layerMethods.get(layer.name());
        if (m != null) {
            return m;
        }
        return layer.shape().isConv() ? convMethod : denseMethod;
    }

    /** Name of the first convolution of {@code layers} (network order), null when there is none. */
    public static String firstConv(List<PrunableLayer> layers) {
        for (PrunableLayer l : layers) {
            if (l.shape().isConv()) {
                return l.name();
            }
        }
        return null;
    }

    /** Names of the layers of this list that stay dense. */
    public Set<String> excludedLayers(List<PrunableLayer> layers) {
        Set<String> out = new LinkedHashSet<>();
        String firstConv = firstConv(layers);
        String classifier = null;
        for (PrunableLayer l : layers) {
            if (!l.shape().isConv()) {
                classifier = l.name();
            }
        }
        for (PrunableLayer l : layers) {
            String n = l.name();
            boolean ex = excluded.contains(n)
                    || (excludeFirstConv && n.equals(firstConv))
                    || (excludeClassifier && n.equals(classifier));
            if (ex && !included.contains(n)) {
                out.add(n);
            }
        }
        return out;
    }

    /**
     * Masks for all non-excluded layers at global sparsity {@code targetSparsity}.
     *
     * @param layers the model's candidate layers, names unique
     * @param targetSparsity fraction of zeros over all prunable weights, in [0, 1)
     * @throws IllegalArgumentException for a bad target, duplicate names, or a target the methods cannot
     *     reach (below the N:M layers' fixed share, or above what the methods can prune)
     */
    public GlobalPruningResult computeMasks(List<PrunableLayer> layers, double targetSparsity) {
        if (!(targetSparsity >= 0 && targetSparsity < 1)) {
            throw new IllegalArgumentException("targetSparsity must be in [0, 1), got " + targetSparsity);
        }
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("layers must not be empty");
        }
        Set<String> names = new HashSet<>();
        for (PrunableLayer l : layers) {
            if (!names.add(l.name())) {
                throw new IllegalArgumentException("duplicate layer name " + l.name());
            }
        }
        for (String n : layerMethods.keySet()) {
            if (!names.contains(n)) {
                throw new IllegalArgumentException("a method is set for layer " + n + ", which is not in the model");
            }
        }
        Set<String> ex = excludedLayers(layers);
        int count = layers.size();
        LayerSparsity.Role[] role = new LayerSparsity.Role[count];
        MaskMaker[] maker = new MaskMaker[count];
        long prunable = 0;
        long fixedZeros = 0;
        for (int i = 0; i < count; i++) {
            PrunableLayer l = layers.get(i);
            if (ex.contains(l.name())) {
                role[i] = LayerSparsity.Role.EXCLUDED;
                continue;
            }
            maker[i] = methodFor(l);
            prunable += l.size();
            OptionalInt fixed = maker[i].fixedZeros(l.shape());
            if (fixed.isPresent()) {
                role[i] = LayerSparsity.Role.FIXED;
                fixedZeros += fixed.getAsInt();
            } else {
                role[i] = LayerSparsity.Role.ALLOCATED;
            }
        }
        if (prunable == 0) {
            throw new IllegalArgumentException("no prunable layers: all " + count + " layers are excluded " + ex);
        }
        long targetZeros = Math.round(targetSparsity * prunable);
        long rest = targetZeros - fixedZeros;

        // free layers: size, unit, cap, allocation weight
        long[] size = new long[count];
        long[] unit = new long[count];
        long[] cap = new long[count];
        double[] weight = new double[count];
        long capTotal = 0;
        for (int i = 0; i < count; i++) {
            if (role[i] != LayerSparsity.Role.ALLOCATED) {
                continue;
            }
            LayerShape s = layers.get(i).shape();
            size[i] = s.size();
            unit[i] = Math.max(1, maker[i].granularity(s));
            cap[i] = Math.max(0, maker[i].maxZeros(s)) / unit[i] * unit[i];
            weight[i] = allocationWeights.getOrDefault(layers.get(i).name(), 1.0);
            capTotal += cap[i];
        }
        if (rest < 0) {
            throw new IllegalArgumentException(String.format(
                    "targetSparsity %s is below the sparsity %.5f that N:M layers already force (%d of %d prunable"
                            + " weights)", targetSparsity, fixedZeros / (double) prunable, fixedZeros, prunable));
        }
        if (rest > capTotal) {
            throw new IllegalArgumentException(String.format(
                    "targetSparsity %s needs %d zeros but the methods can prune at most %d of %d prunable weights"
                            + " (%.5f)", targetSparsity, targetZeros, fixedZeros + capTotal, prunable,
                    (fixedZeros + capTotal) / (double) prunable));
        }

        double[] ideal = allocate(role, size, cap, weight, rest);
        long[] zeros = new long[count];
        long sum = 0;
        for (int i = 0; i < count; i++) {
            if (role[i] == LayerSparsity.Role.ALLOCATED) {
                zeros[i] = Math.min(cap[i], Math.max(0, Math.round(ideal[i] / unit[i]) * unit[i]));
                sum += zeros[i];
            }
        }
        correct(role, unit, cap, ideal, zeros, rest - sum);

        MaskSet.Builder set = MaskSet.builder();
        List<LayerSparsity> rows = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            PrunableLayer l = layers.get(i);
            if (role[i] == LayerSparsity.Role.EXCLUDED) {
                rows.add(new LayerSparsity(l.name(), l.shape(), "-", role[i], l.size(), 0));
                continue;
            }
            int want = role[i] == LayerSparsity.Role.FIXED
                    ? maker[i].fixedZeros(l.shape()).getAsInt() : (int) zeros[i];
            Mask m = maker[i].makeMaskWithZeros(l, want);
            if (m.zeroCount() != want) {
                throw new IllegalStateException("method " + maker[i].name() + " produced " + m.zeroCount()
                        + " zeros for layer " + l.name() + " " + l.shape() + ", asked for " + want
                        + " at granularity " + maker[i].granularity(l.shape()));
            }
            set.put(l.name(), m);
            rows.add(new LayerSparsity(l.name(), l.shape(), maker[i].name(), role[i], l.size(), m.zeroCount()));
        }
        GlobalPruningResult result = new GlobalPruningResult(targetSparsity, targetZeros, set.build(), rows);
        if (Math.abs(result.globalSparsity() - targetSparsity) > TOLERANCE) {
            LOG.warn("global sparsity {} misses target {} by more than {} ({} vs {} zeros): the free layers'"
                            + " units are too coarse for this model", result.globalSparsity(), targetSparsity,
                    TOLERANCE, result.prunableZeros(), targetZeros);
        }
        return result;
    }

    /** Ideal (fractional) zeros per free layer: min(cap, x * weight * size) with x found by bisection. */
    private static double[] allocate(LayerSparsity.Role[] role, long[] size, long[] cap, double[] weight,
                                     long rest) {
        double hi = 0;
        for (int i = 0; i < role.length; i++) {
            if (role[i] == LayerSparsity.Role.ALLOCATED && weight[i] > 0) {
                hi = Math.max(hi, cap[i] / (weight[i] * size[i]));
            }
        }
        double lo = 0;
        for (int iter = 0; iter < 200 && hi - lo > 1e-15 * Math.max(1, hi); iter++) {
            double mid = 0.5 * (lo + hi);
            if (sumIdeal(role, size, cap, weight, mid) < rest) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        double[] ideal = new double[role.length];
        for (int i = 0; i < role.length; i++) {
            if (role[i] == LayerSparsity.Role.ALLOCATED) {
                ideal[i] = Math.min(cap[i], hi * weight[i] * size[i]);
            }
        }
        return ideal;
    }

    private static double sumIdeal(LayerSparsity.Role[] role, long[] size, long[] cap, double[] weight, double x) {
        double s = 0;
        for (int i = 0; i < role.length; i++) {
            if (role[i] == LayerSparsity.Role.ALLOCATED) {
                s += Math.min(cap[i], x * weight[i] * size[i]);
            }
        }
        return s;
    }

    /** Moves whole units until the global error cannot shrink; each step strictly reduces |error|. */
    private static void correct(LayerSparsity.Role[] role, long[] unit, long[] cap, double[] ideal, long[] zeros,
                                long error) {
        while (error != 0) {
            long sign = Long.signum(error);
            int best = -1;
            double bestLag = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < role.length; i++) {
                if (role[i] != LayerSparsity.Role.ALLOCATED) {
                    continue;
                }
                long next = zeros[i] + sign * unit[i];
                if (next < 0 || next > cap[i] || Math.abs(error - sign * unit[i]) >= Math.abs(error)) {
                    continue;
                }
                double lag = sign * (ideal[i] - zeros[i]); // how far the layer trails its ideal count
                if (lag > bestLag) {
                    bestLag = lag;
                    best = i;
                }
            }
            if (best < 0) {
                return;
            }
            zeros[best] += sign * unit[best];
            error -= sign * unit[best];
        }
    }

    @Override
    public String toString() {
        return "GlobalSparsityController{convMethod=" + convMethod + ", denseMethod=" + denseMethod
                + ", layerMethods=" + layerMethods + ", excludeFirstConv=" + excludeFirstConv
                + ", excludeClassifier=" + excludeClassifier + ", excluded=" + excluded + ", included=" + included
                + ", allocationWeights=" + allocationWeights + ", tolerance=" + TOLERANCE + "}";
    }

    /** Builder; every setting is optional. */
    public static final class Builder {
        private MaskMaker convMethod = new MagnitudePruner();
        private MaskMaker denseMethod = new FcPruner();
        private final Map<String, MaskMaker> layerMethods = new LinkedHashMap<>();
        private final Set<String> excluded = new LinkedHashSet<>();
        private final Set<String> included = new LinkedHashSet<>();
        private boolean excludeFirstConv = DEFAULT_EXCLUDE_FIRST_CONV;
        private boolean excludeClassifier = DEFAULT_EXCLUDE_CLASSIFIER;
        private final Map<String, Double> allocationWeights = new LinkedHashMap<>();

        private Builder() {
        }

        /** Method for convolutions (default magnitude); window, CK and combined fall back to magnitude on 1x1. */
        public Builder convMethod(MaskMaker method) {
            this.convMethod = Objects.requireNonNull(method, "convMethod");
            return this;
        }

        /** Method for dense layers (default {@link FcPruner}, block then fine pruning). */
        public Builder denseMethod(MaskMaker method) {
            this.denseMethod = Objects.requireNonNull(method, "denseMethod");
            return this;
        }

        /** Method for one named layer, overriding the conv/dense default (e.g. N:M on some layers). */
        public Builder layerMethod(String layer, MaskMaker method) {
            layerMethods.put(Objects.requireNonNull(layer, "layer"), Objects.requireNonNull(method, "method"));
            return this;
        }

        /** Leave a named layer dense. */
        public Builder exclude(String layer) {
            excluded.add(Objects.requireNonNull(layer, "layer"));
            return this;
        }

        /** Prune a named layer even if a default (first conv, classifier) would exclude it. */
        public Builder include(String layer) {
            included.add(Objects.requireNonNull(layer, "layer"));
            return this;
        }

        public Builder excludeFirstConv(boolean exclude) {
            this.excludeFirstConv = exclude;
            return this;
        }

        public Builder excludeClassifier(boolean exclude) {
            this.excludeClassifier = exclude;
            return this;
        }

        /** Relative share of a layer in the allocation (default 1: the same sparsity for every free layer). */
        public Builder allocationWeight(String layer, double weight) {
            if (!(weight >= 0) || Double.isInfinite(weight)) {
                throw new IllegalArgumentException(
                        "allocation weight must be finite and >= 0, got " + weight + " for layer " + layer);
            }
            allocationWeights.put(Objects.requireNonNull(layer, "layer"), weight);
            return this;
        }

        public GlobalSparsityController build() {
            for (String n : included) {
                if (excluded.contains(n)) {
                    throw new IllegalArgumentException("layer " + n + " is both excluded and included");
                }
            }
            return new GlobalSparsityController(this);
        }
    }
}
