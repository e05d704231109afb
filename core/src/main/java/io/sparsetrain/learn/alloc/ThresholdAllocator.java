package io.sparsetrain.learn.alloc;

import io.sparsetrain.learn.optim.AdamW;
import io.sparsetrain.prune.PrunableLayer;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Learns one magnitude threshold t_l per layer under a global sparsity target r_0, the FCPTS method
 * (METHODS.md section 3). Mask M_l = 1[|W_l| &gt; t_l]; each layer's sparsity is bridged to its threshold
 * by a {@link KernelDensityBridge}, so the control loss
 * <pre>
 *   L_c = | sum_l r_l(t_l) N_l / sum_l N_l - r_0 |,   dL_c/dt_l = sign(S - r_0) N_l / sum N * dr_l/dt_l
 * </pre>
 * (S the KDE global sparsity; subgradient 0 at S = r_0) is differentiable. {@link #step} adds an external
 * reconstruction gradient dL_rec/dt_l (the KL term, obtained by the caller from the network with a
 * straight-through estimator through the mask) and updates the thresholds with Adam.
 *
 * <p>Thresholds are kept in each layer's normalised units (see {@link KernelDensityBridge}: divided by
 * the layer's weight RMS) and clamped to at least {@link #MIN_THRESHOLD} after each step;
 * {@link #weightThresholds()} converts to weight units.
 *
 * <p><b>Start ({@link Init}):</b> by default at the exact uniform magnitude allocation (every layer's
 * counted sparsity round(r_0 N_l) / N_l), so learning starts from the uniform baseline, not from the KDE's
 * estimate of it. With h = 0.5 the KDE is the weight density convolved with N(0, h^2), wider than the
 * weights: on Gaussian weights its r(t) at the true 70% (90%) threshold is about 0.65 (0.86), and how far
 * off it is depends on each layer's kurtosis. {@link Init#KDE} keeps the old start (KDE sparsity r_0 in
 * every layer), {@link Init#ERK} starts at the ERK baseline.
 *
 * <p><b>Control loss ({@link Config#countedControl()}):</b> by default L_c's value and sign use the
 * <i>counted</i> global sparsity of the current thresholds (the mask the reconstruction loss actually sees)
 * and only its derivative dr_l/dt_l comes from the KDE, the paper's bridge. Since dL_c/dt_l depends on
 * S only through sign(S - r_0), this steers the real masks to r_0 instead of the KDE's biased estimate of
 * them. With {@code countedControl(false)} both come from the KDE (the paper's equations, exactly).
 * Either way the learned thresholds never hit r_0 exactly: {@link #exactCorrection()} turns them into
 * masks at the exact global count. The layers' weights are only read. Not thread-safe.
 */
public final class ThresholdAllocator {
    /** Smallest threshold, in normalised units (keeps the exact correction's ratios finite). */
    public static final double MIN_THRESHOLD = 1e-6;
    /** Weight of L_c in the total loss L = L_rec + controlWeight * L_c (the paper adds them). */
    public static final double DEFAULT_CONTROL_WEIGHT = 1.0;
    /** Adam step on normalised thresholds (no weight decay). */
    public static final double DEFAULT_LEARNING_RATE = 0.01;
    public static final long DEFAULT_SEED = 7L;

    /** Where the thresholds start. */
    public enum Init {
        /** Counted sparsity round(r_0 N_l) / N_l in every layer: the uniform magnitude baseline. */
        UNIFORM,
        /** Counted sparsity of the ERK baseline ({@link ErkAllocation}) in every layer. */
        ERK,
        /** KDE sparsity r_0 in every layer (the bridge's estimate of uniform). */
        KDE
    }

    private final List<PrunableLayer> layers;
    private final Config config;
    private final KernelDensityBridge[] bridges;
    /** Per layer, |w| / scale sorted ascending: counted sparsities by binary search. */
    private final float[][] sortedMagnitudes;
    private final double[] thresholds;
    private final long totalWeights;
    private final AdamW adam;

    /**
     * @param layers the prunable layers (names unique), weights only read
     * @throws IllegalArgumentException for an empty list or duplicate names
     */
    public ThresholdAllocator(List<PrunableLayer> layers, Config config) {
        this.config = Objects.requireNonNull(config, "config");
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("layers must not be empty");
        }
        Set<String> names = new HashSet<>();
        for (PrunableLayer l : layers) {
            if (!names.add(l.name())) {
                throw new IllegalArgumentException("duplicate layer name " + l.name());
            }
        }
        this.layers = List.copyOf(layers);
        this.bridges = new KernelDensityBridge[layers.size()];
        this.sortedMagnitudes = new float[layers.size()][];
        this.thresholds = new double[layers.size()];
        long n = 0;
        for (int l = 0; l < bridges.length; l++) {
            PrunableLayer layer = layers.get(l);
            bridges[l] = KernelDensityBridge.fromWeights(layer.weights(), config.samples, config.bandwidth,
                    config.seed + 0x9E3779B97F4A7C15L * (l + 1)); // a distinct seed per layer
            float[] w = layer.weights();
            float[] a = new float[w.length];
            for (int i = 0; i < w.length; i++) {
                a[i] = (float) (Math.abs(w[i]) / bridges[l].scale());
            }
            java.util.Arrays.sort(a);
            sortedMagnitudes[l] = a;
            n += layer.size();
        }
        this.totalWeights = n;
        SparsityBudget start = config.init == Init.ERK ? ErkAllocation.allocate(this.layers, config.targetSparsity)
                : config.init == Init.UNIFORM ? UniformAllocation.allocate(this.layers, config.targetSparsity) : null;
        for (int l = 0; l < bridges.length; l++) {
            thresholds[l] = Math.max(MIN_THRESHOLD, start == null ? bridges[l].thresholdFor(config.targetSparsity)
                    : thresholdPruning(l, start.zeros(layers.get(l).name())));
        }
        this.adam = new AdamW(AdamW.Config.defaults().toBuilder().learningRate(config.learningRate).weightDecay(0)
                .build(), layers.size());
    }

    public Config config() {
        return config;
    }

    public List<PrunableLayer> layers() {
        return layers;
    }

    /** The bridge of layer l (in list order). */
    public KernelDensityBridge bridge(int l) {
        return bridges[l];
    }

    /** Thresholds in normalised units (a copy). */
    public double[] thresholds() {
        return thresholds.clone();
    }

    /** Replaces the thresholds (normalised units, each &gt;= 0, clamped to {@link #MIN_THRESHOLD}). */
    public void setThresholds(double[] t) {
        if (t.length != thresholds.length) {
            throw new IllegalArgumentException("need " + thresholds.length + " thresholds, got " + t.length);
        }
        for (int l = 0; l < t.length; l++) {
            if (!(t[l] >= 0) || Double.isInfinite(t[l])) {
                throw new IllegalArgumentException("threshold of layer " + layers.get(l).name()
                        + " must be finite and >= 0, got " + t[l]);
            }
            thresholds[l] = Math.max(MIN_THRESHOLD, t[l]);
        }
    }

    /** Thresholds in weight units, t_l * RMS_l: prune |w| &lt;= this. */
    public double[] weightThresholds() {
        double[] w = new double[thresholds.length];
        for (int l = 0; l < w.length; l++) {
            w[l] = bridges[l].toWeightUnits(thresholds[l]);
        }
        return w;
    }

    /** KDE sparsity r_l(t_l) per layer. */
    public double[] kdeSparsities() {
        double[] r = new double[thresholds.length];
        for (int l = 0; l < r.length; l++) {
            r[l] = bridges[l].sparsity(thresholds[l]);
        }
        return r;
    }

    /** S = sum_l r_l N_l / sum_l N_l. */
    public double kdeGlobalSparsity() {
        double[] r = kdeSparsities();
        double s = 0;
        for (int l = 0; l < r.length; l++) {
            s += r[l] * layers.get(l).size();
        }
        return s / totalWeights;
    }

    /** L_c = |S - r_0|, S counted or KDE (see {@link Config#countedControl()}). */
    public double controlLoss() {
        return Math.abs(controlledGlobalSparsity() - config.targetSparsity);
    }

    /**
     * A normalised threshold that prunes exactly the {@code zeros} smallest magnitudes of layer l: midway
     * between the largest pruned and the smallest kept one (ties prune together).
     */
    double thresholdPruning(int l, int zeros) {
        float[] a = sortedMagnitudes[l];
        if (zeros <= 0) {
            return a[0] > 0 ? 0.5 * a[0] : MIN_THRESHOLD;
        }
        if (zeros >= a.length) {
            return 2.0 * a[a.length - 1] + 1;
        }
        return 0.5 * ((double) a[zeros - 1] + a[zeros]);
    }

    /** Counted global sparsity of the current thresholds: sum_l #{|w| &lt;= t_l} / sum_l N_l. */
    public double countedGlobalSparsity() {
        long z = 0;
        for (int l = 0; l < thresholds.length; l++) {
            z += countAtOrBelow(l, thresholds[l]);
        }
        return z / (double) totalWeights;
    }

    /** Weights of layer l with |w| / scale &lt;= t (binary search on the sorted magnitudes). */
    private int countAtOrBelow(int l, double t) {
        float[] a = sortedMagnitudes[l];
        int lo = 0;
        int hi = a.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (a[mid] <= t) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** The global sparsity L_c is measured on: counted, or the KDE's (see {@link Config#countedControl()}). */
    public double controlledGlobalSparsity() {
        return config.countedControl ? countedGlobalSparsity() : kdeGlobalSparsity();
    }

    /** dL_c/dt_l for every layer (normalised units). */
    public double[] controlLossGradient() {
        double sign = Math.signum(controlledGlobalSparsity() - config.targetSparsity);
        double[] g = new double[thresholds.length];
        for (int l = 0; l < g.length; l++) {
            g[l] = sign * layers.get(l).size() / (double) totalWeights * bridges[l].derivative(thresholds[l]);
        }
        return g;
    }

    /**
     * One Adam update of the thresholds with gradient dL_rec/dt_l + controlWeight * dL_c/dt_l.
     *
     * @param reconstructionGradient dL_rec/dt_l per layer in normalised units (multiply a weight-unit
     *     gradient by the layer's {@link KernelDensityBridge#scale()}); null or zeros for L_c alone
     * @return the control loss before the update
     */
    public double step(double[] reconstructionGradient) {
        if (reconstructionGradient != null && reconstructionGradient.length != thresholds.length) {
            throw new IllegalArgumentException("need " + thresholds.length + " reconstruction gradients, got "
                    + reconstructionGradient.length);
        }
        double loss = controlLoss();
        double[] g = controlLossGradient();
        for (int l = 0; l < g.length; l++) {
            g[l] *= config.controlWeight;
            if (reconstructionGradient != null) {
                g[l] += reconstructionGradient[l];
            }
        }
        adam.step(thresholds, g);
        for (int l = 0; l < thresholds.length; l++) {
            thresholds[l] = Math.max(MIN_THRESHOLD, thresholds[l]);
        }
        return loss;
    }

    /** Counted (not KDE) sparsity per layer at the current thresholds: fraction with |w| &lt;= t_l. */
    public double[] countedSparsities() {
        double[] r = new double[thresholds.length];
        for (int l = 0; l < r.length; l++) {
            r[l] = countAtOrBelow(l, thresholds[l]) / (double) layers.get(l).size();
        }
        return r;
    }

    /** Masks at exactly round(r_0 * sum N_l) zeros from the current thresholds; see {@link ExactCorrection}. */
    public CorrectedAllocation exactCorrection() {
        return ExactCorrection.apply(layers, weightThresholds(), config.targetSparsity);
    }

    @Override
    public String toString() {
        return "ThresholdAllocator{" + layers.size() + " layers, " + totalWeights + " weights, " + config + "}";
    }

    public static Config.Builder builder(double targetSparsity) {
        return new Config.Builder(targetSparsity);
    }

    /** Immutable allocator settings; the target sparsity r_0 is required. */
    public static final class Config {
        private final double targetSparsity;
        private final int samples;
        private final double bandwidth;
        private final long seed;
        private final double learningRate;
        private final double controlWeight;
        private final Init init;
        private final boolean countedControl;

        private Config(Builder b) {
            this.targetSparsity = b.targetSparsity;
            this.samples = b.samples;
            this.bandwidth = b.bandwidth;
            this.seed = b.seed;
            this.learningRate = b.learningRate;
            this.controlWeight = b.controlWeight;
            this.init = b.init;
            this.countedControl = b.countedControl;
        }

        /** r_0, fraction of zeros over all given layers. */
        public double targetSparsity() {
            return targetSparsity;
        }

        public int samples() {
            return samples;
        }

        public double bandwidth() {
            return bandwidth;
        }

        public long seed() {
            return seed;
        }

        public double learningRate() {
            return learningRate;
        }

        public double controlWeight() {
            return controlWeight;
        }

        public Init init() {
            return init;
        }

        /** Whether L_c's value and sign use the counted (true) or the KDE global sparsity. */
        public boolean countedControl() {
            return countedControl;
        }

        @Override
        public String toString() {
            return "ThresholdAllocator.Config{targetSparsity=" + targetSparsity + ", samples=" + samples
                    + ", bandwidth=" + bandwidth + ", seed=" + seed + ", learningRate=" + learningRate
                    + ", controlWeight=" + controlWeight + ", init=" + init + ", countedControl=" + countedControl + "}";
        }

        /** Builder; everything but the target is optional. */
        public static final class Builder {
            private final double targetSparsity;
            private int samples = KernelDensityBridge.DEFAULT_SAMPLES;
            private double bandwidth = KernelDensityBridge.DEFAULT_BANDWIDTH;
            private long seed = DEFAULT_SEED;
            private double learningRate = DEFAULT_LEARNING_RATE;
            private double controlWeight = DEFAULT_CONTROL_WEIGHT;
            private Init init = Init.UNIFORM;
            private boolean countedControl = true;

            private Builder(double targetSparsity) {
                this.targetSparsity = targetSparsity;
            }

            public Builder samples(int n) {
                this.samples = n;
                return this;
            }

            public Builder bandwidth(double h) {
                this.bandwidth = h;
                return this;
            }

            public Builder seed(long seed) {
                this.seed = seed;
                return this;
            }

            public Builder learningRate(double lr) {
                this.learningRate = lr;
                return this;
            }

            public Builder controlWeight(double w) {
                this.controlWeight = w;
                return this;
            }

            public Builder init(Init init) {
                this.init = Objects.requireNonNull(init, "init");
                return this;
            }

            public Builder countedControl(boolean on) {
                this.countedControl = on;
                return this;
            }

            public Config build() {
                if (!(targetSparsity >= 0 && targetSparsity < 1)) {
                    throw new IllegalArgumentException("targetSparsity must be in [0, 1), got " + targetSparsity);
                }
                if (samples < 1) {
                    throw new IllegalArgumentException("samples must be >= 1, got " + samples);
                }
                if (!(bandwidth > 0) || Double.isInfinite(bandwidth)) {
                    throw new IllegalArgumentException("bandwidth must be finite and > 0, got " + bandwidth);
                }
                if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
                    throw new IllegalArgumentException("learningRate must be finite and > 0, got " + learningRate);
                }
                if (!(controlWeight >= 0) || Double.isInfinite(controlWeight)) {
                    throw new IllegalArgumentException("controlWeight must be finite and >= 0, got " + controlWeight);
                }
                return new Config(this);
            }
        }
    }
}
