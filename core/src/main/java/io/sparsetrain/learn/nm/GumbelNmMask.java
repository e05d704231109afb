package io.sparsetrain.learn.nm;

import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.nm.NmGroupOrder;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Trainable N:M mask logits of one layer, the method of the learned 2:4 mask paper (METHODS.md section 2).
 *
 * <p>Each row of the GEMM view {@code [outputs, K]} (see {@link LayerShape}) is cut along K into
 * {@code groups = ceil(K / M)} blocks of M consecutive entries, consecutive in the mask's {@link NmGroupOrder}
 * (default: along K as stored; {@link NmGroupOrder#CHANNEL}: M input channels at one kernel position); K is padded to a multiple of M, the padded
 * positions are zero weights that are not part of the mask output. Block b has C(M,N) logits a_b, one
 * per pattern of {@link NmPatterns}. In the padded last block of r &lt; M real positions only the patterns
 * keeping min(N, r) real positions are valid (keeping a padding zero instead of a real weight is never
 * useful); the others get probability 0, gradient 0 and are skipped by the argmax, so every mask has
 * exactly the zero count of the magnitude baseline ({@link io.sparsetrain.prune.nm.NmMagnitudePruner#fixedZeros}). <b>Logit layout:</b> one flat {@code float[]} of length
 * {@code rows * groups * C(M,N)}, row-major {@code [rows, groups, C(M,N)]}: logit of (row r, group g,
 * pattern p) at {@code (r * groups + g) * C + p}.
 *
 * <p>Training forward ({@link #softMask}): y_b = softmax((a_b + g_b) / tau) with g_b i.i.d. Gumbel(0, 1)
 * = -log(-log(u)), and the soft block mask m_b = P y_b. Backward ({@link #backward}): the gradient of a
 * loss wrt the mask is pulled back through P and the softmax. The frozen weights are never read after
 * construction and never written; the layer uses W * m. After training, {@link #hardMask()} takes the
 * argmax pattern of each block (the deterministic default of the paper's final sampling), an N:M
 * {@link Mask} of the original layout.
 *
 * <p>{@link #logits()} is the live parameter array for the optimizer (e.g. {@link io.sparsetrain.learn.optim.AdamW}).
 * Not thread-safe.
 */
public final class GumbelNmMask {
    /** Logit initialisation. */
    public enum Init {
        /** Glorot-uniform, as in the paper. */
        GLOROT,
        /** From the frozen weights: favour patterns keeping the largest |w| (the paper's suggested improvement). */
        MAGNITUDE
    }

    public static final int DEFAULT_N = 2;
    public static final int DEFAULT_M = 4;
    public static final Init DEFAULT_INIT = Init.GLOROT;
    public static final long DEFAULT_SEED = 42L;
    /** Logit spread of the magnitude initialisation (see {@link Config#magnitudeScale()}). */
    public static final double DEFAULT_MAGNITUDE_SCALE = 10.0;

    private final LayerShape shape;
    private final NmPatterns patterns;
    private final int rows;
    private final int k;
    private final int groups;
    private final float[] logits;
    private final boolean[] validInLast; // per pattern: valid in the last block (all true if it is full)
    private final NmGroupOrder groupOrder;
    private final int[] groupIndex; // storage index of position p of row 0's group order; row r adds rowStride * r
    private final int rowStride;

    private GumbelNmMask(LayerShape shape, NmPatterns patterns, float[] logits, NmGroupOrder groupOrder) {
        this.shape = shape;
        this.groupOrder = Objects.requireNonNull(groupOrder, "groupOrder");
        this.patterns = patterns;
        this.rows = shape.outputs();
        this.k = shape.k();
        this.groups = (k + patterns.m() - 1) / patterns.m(); // K padded to a multiple of M
        this.logits = logits;
        int r = k - (groups - 1) * patterns.m();
        int realBits = (1 << r) - 1;
        this.validInLast = new boolean[patterns.count()];
        for (int p = 0; p < validInLast.length; p++) {
            validInLast[p] = Integer.bitCount(patterns.bits(p) & realBits) == Math.min(patterns.n(), r);
        }
        this.groupIndex = new int[k];
        for (int p = 0; p < k; p++) {
            groupIndex[p] = shape.index(0, groupOrder.originalK(shape, p));
        }
        this.rowStride = rows > 1 ? shape.index(1, 0) - shape.index(0, 0) : 0;
    }

    /** Storage index of the weight at position {@code p} of row {@code r}'s groups (see {@link NmGroupOrder}). */
    private int at(int r, int p) {
        return groupIndex[p] + r * rowStride;
    }

    /**
     * False for patterns of the padded last block that keep fewer than min(N, r) of its r real positions;
     * such patterns never take part in the softmax or the argmax. True everywhere else.
     */
    public boolean isValidPattern(int group, int pattern) {
        return group != groups - 1 || validInLast[pattern];
    }

    /** Logits for a layer, initialised as {@code config} says (the weights are only read). */
    public static GumbelNmMask create(PrunableLayer layer, Config config) {
        Objects.requireNonNull(layer, "layer");
        NmPatterns p = NmPatterns.of(config.n, config.m);
        GumbelNmMask g = new GumbelNmMask(layer.shape(), p, new float[logitCount(layer.shape(), p)], config.groupOrder);
        if (config.init == Init.GLOROT) {
            g.initGlorot(config.seed);
        } else {
            g.initMagnitude(layer.weights(), config.magnitudeScale);
        }
        return g;
    }

    /** Logits given explicitly (copied), e.g. restored from a checkpoint; groups along K. */
    public static GumbelNmMask fromLogits(LayerShape shape, int n, int m, float[] logits) {
        return fromLogits(shape, n, m, logits, NmGroupOrder.KERNEL);
    }

    /** Logits given explicitly (copied), groups formed in {@code groupOrder}. */
    public static GumbelNmMask fromLogits(LayerShape shape, int n, int m, float[] logits, NmGroupOrder groupOrder) {
        NmPatterns p = NmPatterns.of(n, m);
        int count = logitCount(shape, p);
        if (logits.length != count) {
            throw new IllegalArgumentException("an " + n + ":" + m + " mask of " + shape + " has " + count
                    + " logits, got " + logits.length);
        }
        return new GumbelNmMask(shape, p, logits.clone(), groupOrder);
    }

    private static int logitCount(LayerShape shape, NmPatterns p) {
        long c = (long) shape.outputs() * ((shape.k() + p.m() - 1) / p.m()) * p.count();
        if (c > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("layer " + shape + " needs " + c + " logits, more than a float[] holds");
        }
        return (int) c;
    }

    /**
     * Glorot-uniform U(-a, a), a = sqrt(6 / (fanIn + fanOut)), with the fans PyTorch's xavier_uniform_ takes
     * for a 3-d tensor [rows, groups, C]: fanIn = groups * C, fanOut = rows * C.
     */
    private void initGlorot(long seed) {
        int c = patterns.count();
        double a = Math.sqrt(6.0 / ((double) groups * c + (double) rows * c));
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) ((2 * r.nextDouble() - 1) * a);
        }
    }

    /**
     * a_{b,p} = scale * (s_p / S - mean_p(s_p / S)), s_p the |w| kept by pattern p, S the block's |w| sum
     * (0 for an all-zero block). Argmax a_b is then the pattern keeping the N largest |w|.
     */
    private void initMagnitude(float[] w, double scale) {
        int c = patterns.count();
        int m = patterns.m();
        double[] s = new double[c];
        double[] abs = new double[m];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                int start = g * m;
                double total = 0;
                for (int j = 0; j < m; j++) {
                    abs[j] = start + j < k ? Math.abs(w[at(r, start + j)]) : 0; // zero padding
                    total += abs[j];
                }
                double mean = 0;
                for (int p = 0; p < c; p++) {
                    double sp = 0;
                    for (int j = 0; j < m; j++) {
                        if (patterns.keeps(p, j)) {
                            sp += abs[j];
                        }
                    }
                    s[p] = total > 0 ? sp / total : 0;
                    mean += s[p];
                }
                mean /= c;
                int base = (r * groups + g) * c;
                for (int p = 0; p < c; p++) {
                    logits[base + p] = (float) (scale * (s[p] - mean));
                }
            }
        }
    }

    public LayerShape shape() {
        return shape;
    }

    public NmPatterns patterns() {
        return patterns;
    }

    public int n() {
        return patterns.n();
    }

    public int m() {
        return patterns.m();
    }

    /** Which weights form a group. */
    public NmGroupOrder groupOrder() {
        return groupOrder;
    }

    /** Blocks per row, ceil(K / M). */
    public int groupCount() {
        return groups;
    }

    /** rows * groups * C(M,N). */
    public int logitCount() {
        return logits.length;
    }

    /** Flat index of the logit of (row, group, pattern). */
    public int logitIndex(int row, int group, int pattern) {
        return (row * groups + group) * patterns.count() + pattern;
    }

    /** The live logit array, layout [rows, groups, C(M,N)] (the optimizer updates it in place). */
    public float[] logits() {
        return logits;
    }

    /** i.i.d. Gumbel(0, 1) noise, -log(-log(u)) with u uniform in (0, 1), one per logit. */
    public double[] sampleGumbel(SplittableRandom rng) {
        double[] g = new double[logits.length];
        for (int i = 0; i < g.length; i++) {
            double u = ((rng.nextLong() >>> 11) + 0.5) * 0x1.0p-53; // strictly inside (0, 1)
            g[i] = -Math.log(-Math.log(u));
        }
        return g;
    }

    /** Forward pass with fresh Gumbel noise from {@code rng}. */
    public SoftMask softMask(double tau, SplittableRandom rng, boolean straightThrough) {
        return softMask(tau, sampleGumbel(rng), straightThrough);
    }

    /**
     * Forward pass with given noise: y_b = softmax((a_b + g_b) / tau), m_b = P y_b (or P onehot(argmax y_b)
     * when straight-through).
     *
     * @param gumbel noise per logit, same layout as the logits (zeros give the plain softmax)
     */
    public SoftMask softMask(double tau, double[] gumbel, boolean straightThrough) {
        if (!(tau > 0) || Double.isInfinite(tau)) {
            throw new IllegalArgumentException("temperature tau must be finite and > 0, got " + tau);
        }
        if (gumbel.length != logits.length) {
            throw new IllegalArgumentException("gumbel noise needs one value per logit, " + logits.length
                    + ", got " + gumbel.length);
        }
        int c = patterns.count();
        int m = patterns.m();
        double[] y = new double[logits.length];
        float[] mask = new float[shape.size()];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                int base = (r * groups + g) * c;
                double max = Double.NEGATIVE_INFINITY;
                int best = -1;
                for (int p = 0; p < c; p++) {
                    double z = isValidPattern(g, p) ? (logits[base + p] + gumbel[base + p]) / tau
                            : Double.NEGATIVE_INFINITY;
                    y[base + p] = z;
                    if (best < 0 || z > max) {
                        max = z;
                        best = p;
                    }
                }
                double sum = 0;
                for (int p = 0; p < c; p++) {
                    y[base + p] = isValidPattern(g, p) ? Math.exp(y[base + p] - max) : 0; // invalid: probability 0
                    sum += y[base + p];
                }
                for (int p = 0; p < c; p++) {
                    y[base + p] /= sum;
                }
                int start = g * m;
                int len = Math.min(m, k - start);
                for (int j = 0; j < len; j++) {
                    double mj;
                    if (straightThrough) {
                        mj = patterns.keeps(best, j) ? 1 : 0;
                    } else {
                        mj = 0;
                        for (int p = 0; p < c; p++) {
                            if (patterns.keeps(p, j)) {
                                mj += y[base + p];
                            }
                        }
                    }
                    mask[at(r, start + j)] = (float) mj;
                }
            }
        }
        return new SoftMask(mask, y, tau, straightThrough);
    }

    /**
     * Gradient of a loss wrt the logits, given its gradient wrt the mask of {@code forward}:
     * dL/dy_p = sum_{j kept by p} dL/dm_j, dL/da_p = y_p (dL/dy_p - sum_q y_q dL/dy_q) / tau.
     * Straight-through uses the same soft gradient (the hard forward is treated as identity).
     *
     * @param dLdMask gradient per weight, in the weights' storage layout
     * @return a new array in the logit layout
     */
    public float[] backward(SoftMask forward, float[] dLdMask) {
        double[] y = forward.y();
        if (y.length != logits.length) {
            throw new IllegalArgumentException("forward pass has " + y.length + " probabilities, this mask has "
                    + logits.length + " logits");
        }
        if (dLdMask.length != shape.size()) {
            throw new IllegalArgumentException("dLdMask has length " + dLdMask.length + " but shape " + shape
                    + " has " + shape.size() + " weights");
        }
        int c = patterns.count();
        int m = patterns.m();
        double invTau = 1.0 / forward.tau();
        float[] out = new float[logits.length];
        double[] dy = new double[c];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                int base = (r * groups + g) * c;
                int start = g * m;
                int len = Math.min(m, k - start);
                double dot = 0;
                for (int p = 0; p < c; p++) {
                    double d = 0;
                    for (int j = 0; j < len; j++) { // padded positions have no mask entry
                        if (patterns.keeps(p, j)) {
                            d += dLdMask[at(r, start + j)];
                        }
                    }
                    dy[p] = d;
                    dot += y[base + p] * d;
                }
                for (int p = 0; p < c; p++) {
                    out[base + p] = (float) (y[base + p] * (dy[p] - dot) * invTau);
                }
            }
        }
        return out;
    }

    /** Argmax valid pattern index per block (first maximum on ties), layout [rows, groups]. */
    public int[] argmaxPatterns() {
        int c = patterns.count();
        int[] best = new int[rows * groups];
        for (int b = 0; b < best.length; b++) {
            int base = b * c;
            int g = b % groups;
            int arg = -1;
            for (int p = 0; p < c; p++) {
                if (isValidPattern(g, p) && (arg < 0 || logits[base + p] > logits[base + arg])) {
                    arg = p;
                }
            }
            best[b] = arg;
        }
        return best;
    }

    /**
     * The deterministic hard mask m_b = P onehot(argmax a_b), in the weights' layout. Every full block keeps
     * exactly N weights, a padded last block of r real positions min(N, r).
     */
    public Mask hardMask() {
        int[] best = argmaxPatterns();
        int m = patterns.m();
        boolean[] keep = new boolean[shape.size()];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                int p = best[r * groups + g];
                int start = g * m;
                int len = Math.min(m, k - start);
                for (int j = 0; j < len; j++) {
                    keep[at(r, start + j)] = patterns.keeps(p, j);
                }
            }
        }
        return Mask.fromKeep(shape, keep);
    }

    @Override
    public String toString() {
        return "GumbelNmMask{" + patterns.n() + ":" + patterns.m() + " " + groupOrder.label() + "-wise, " + shape + ", " + groups + " groups/row, "
                + logits.length + " logits}";
    }

    public static Config.Builder builder() {
        return new Config.Builder();
    }

    /** Immutable settings of a learned N:M mask. */
    public static final class Config {
        private final int n;
        private final int m;
        private final Init init;
        private final long seed;
        private final double magnitudeScale;
        private final NmGroupOrder groupOrder;

        private Config(Config.Builder b) {
            this.groupOrder = b.groupOrder;
            this.n = b.n;
            this.m = b.m;
            this.init = b.init;
            this.seed = b.seed;
            this.magnitudeScale = b.magnitudeScale;
        }

        public static Config defaults() {
            return new Builder().build();
        }

        public int n() {
            return n;
        }

        public int m() {
            return m;
        }

        public Init init() {
            return init;
        }

        /** Seed of the Glorot initialisation. */
        public long seed() {
            return seed;
        }

        /**
         * Spread of the magnitude initialisation: logits are this times the kept fraction of the block's |w|
         * (centred per block), so 10 gives a gap of about 1-3 between the best and the second pattern of
         * a Gaussian 2:4 block, comparable to the Gumbel noise's standard deviation (1.28).
         */
        public double magnitudeScale() {
            return magnitudeScale;
        }

        /** Which weights form a group (default {@link NmGroupOrder#KERNEL}). */
        public NmGroupOrder groupOrder() {
            return groupOrder;
        }

        @Override
        public String toString() {
            return "GumbelNmMask.Config{n=" + n + ", m=" + m + ", init=" + init + ", seed=" + seed
                    + ", magnitudeScale=" + magnitudeScale + ", groupOrder=" + groupOrder + "}";
        }

        /** Builder; every setting is optional. */
        public static final class Builder {
            private int n = DEFAULT_N;
            private int m = DEFAULT_M;
            private Init init = DEFAULT_INIT;
            private long seed = DEFAULT_SEED;
            private double magnitudeScale = DEFAULT_MAGNITUDE_SCALE;
            private NmGroupOrder groupOrder = NmGroupOrder.KERNEL;

            private Builder() {
            }

            public Builder groupOrder(NmGroupOrder order) {
                this.groupOrder = Objects.requireNonNull(order, "groupOrder");
                return this;
            }

            public Builder nm(int n, int m) {
                this.n = n;
                this.m = m;
                return this;
            }

            public Builder init(Init init) {
                this.init = Objects.requireNonNull(init, "init");
                return this;
            }

            public Builder seed(long seed) {
                this.seed = seed;
                return this;
            }

            public Builder magnitudeScale(double scale) {
                this.magnitudeScale = scale;
                return this;
            }

            public Config build() {
                NmPatterns.of(n, m); // validates N and M
                if (!(magnitudeScale > 0) || Double.isInfinite(magnitudeScale)) {
                    throw new IllegalArgumentException("magnitudeScale must be finite and > 0, got " + magnitudeScale);
                }
                return new Config(this);
            }
        }
    }
}
