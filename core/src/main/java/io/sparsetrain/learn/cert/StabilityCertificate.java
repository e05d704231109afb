package io.sparsetrain.learn.cert;

import java.util.Arrays;

/**
 * The stability certificate of the learned 2:4 mask paper (lemmas 3.1-3.5; METHODS.md section 2) for a
 * compositional classifier softmax(W_L act(... act(W_1 x))) with rho-Lipschitz activations: masking
 * layer i is the additive perturbation D = -(1 - m) * W_i, and the class probabilities move by at most
 * <pre>
 *   B(x) = ||x|| * rho^d * ||D|| * prod_{j != i} ||W_j||      (spectral norms; softmax is 1-Lipschitz)
 * </pre>
 * so the predicted class provably stays the same when B(x) &lt; (p_top1 - p_top2) / sqrt(2).
 * Biases do not enter (they cancel in the difference). For a model with residuals or BatchNorm the
 * product of layer norms is only a loose bound (and BN's per-channel scale must be folded into the
 * layer norms); convolution norms come from {@link SpectralNorm#operatorBound}, itself an upper bound.
 *
 * <p>Norms estimated by power iteration are multiplied by {@code normSafety} (default
 * {@link #DEFAULT_NORM_SAFETY}) because power iteration approaches sigma_max from below. Immutable.
 */
public final class StabilityCertificate {
    /** ReLU is 1-Lipschitz. */
    public static final double DEFAULT_RHO = 1.0;
    /** Factor applied to every estimated norm (power iteration underestimates slightly). */
    public static final double DEFAULT_NORM_SAFETY = 1.001;

    private final double[] layerNorms;
    private final int maskedLayer;
    private final double perturbationNorm;
    private final double rho;
    private final int depth;
    private final double normSafety;
    private final double factor; // rho^d * ||D|| * prod_{j != i} ||W_j||, safety included

    private StabilityCertificate(Builder b) {
        this.layerNorms = b.layerNorms.clone();
        this.maskedLayer = b.maskedLayer;
        this.perturbationNorm = b.perturbationNorm;
        this.rho = b.rho;
        this.depth = b.depth;
        this.normSafety = b.normSafety;
        double f = Math.pow(rho, depth) * perturbationNorm * normSafety;
        for (int j = 0; j < layerNorms.length; j++) {
            if (j != maskedLayer) {
                f *= layerNorms[j] * normSafety;
            }
        }
        this.factor = f;
    }

    /**
     * @param layerNorms ||W_j|| of every layer, in order (operator norms or upper bounds)
     * @param maskedLayer index i of the masked layer
     * @param perturbationNorm ||D||, e.g. {@link SpectralNorm#perturbationBound} (lemma 3.4) or ||W_i|| (lemma 3.5)
     */
    public static Builder builder(double[] layerNorms, int maskedLayer, double perturbationNorm) {
        return new Builder(layerNorms, maskedLayer, perturbationNorm);
    }

    /** B(x) for an input of norm {@code inputNorm}. */
    public double bound(double inputNorm) {
        return inputNorm * factor;
    }

    /** B(x) for an input x. */
    public double bound(double[] x) {
        return bound(norm(x));
    }

    /** True if B(x) &lt; (pTop1 - pTop2) / sqrt(2): masking cannot change the prediction on x. */
    public boolean certified(double inputNorm, double pTop1, double pTop2) {
        return certifies(bound(inputNorm), pTop1, pTop2);
    }

    /**
     * The decision rule alone: a perturbation that moves the probability vector by at most {@code bound} (2-norm)
     * cannot change the top-1 class when bound &lt; (pTop1 - pTop2) / sqrt(2). For bounds computed elsewhere (e.g.
     * a sum over several masked layers, or the input norm of an inner layer).
     */
    public static boolean certifies(double bound, double pTop1, double pTop2) {
        if (!(pTop1 >= pTop2)) {
            throw new IllegalArgumentException("pTop1 must be >= pTop2, got " + pTop1 + " and " + pTop2);
        }
        if (!(bound >= 0)) {
            throw new IllegalArgumentException("bound must be >= 0, got " + bound);
        }
        return bound < (pTop1 - pTop2) / Math.sqrt(2);
    }

    /** As {@link #certified(double, double, double)}, taking ||x|| and the top two of the dense model's probabilities. */
    public boolean certified(double[] x, double[] probabilities) {
        if (probabilities.length < 2) {
            throw new IllegalArgumentException("need at least 2 class probabilities, got " + probabilities.length);
        }
        double[] p = probabilities.clone();
        Arrays.sort(p);
        return certified(norm(x), p[p.length - 1], p[p.length - 2]);
    }

    private static double norm(double[] x) {
        double s = 0;
        for (double v : x) {
            s += v * v;
        }
        return Math.sqrt(s);
    }

    /** rho^d * ||D|| * prod_{j != i} ||W_j||, safety factor included: B(x) / ||x||. */
    public double factor() {
        return factor;
    }

    @Override
    public String toString() {
        return "StabilityCertificate{layerNorms=" + Arrays.toString(layerNorms) + ", maskedLayer=" + maskedLayer
                + ", perturbationNorm=" + perturbationNorm + ", rho=" + rho + ", depth=" + depth
                + ", normSafety=" + normSafety + ", factor=" + factor + "}";
    }

    /** Builder; rho, depth and the safety factor are optional. */
    public static final class Builder {
        private final double[] layerNorms;
        private final int maskedLayer;
        private final double perturbationNorm;
        private double rho = DEFAULT_RHO;
        private int depth;
        private double normSafety = DEFAULT_NORM_SAFETY;

        private Builder(double[] layerNorms, int maskedLayer, double perturbationNorm) {
            this.layerNorms = layerNorms.clone();
            this.maskedLayer = maskedLayer;
            this.perturbationNorm = perturbationNorm;
            this.depth = layerNorms.length;
        }

        /** Lipschitz constant of the activation (default 1, ReLU). */
        public Builder rho(double rho) {
            this.rho = rho;
            return this;
        }

        /**
         * The exponent d of rho (default: the number of layers, the paper's depth). With rho &gt; 1 a larger d
         * is conservative; with rho &lt; 1 pass the number of activations actually applied.
         */
        public Builder depth(int depth) {
            this.depth = depth;
            return this;
        }

        /** Factor on every norm, &gt;= 1 (1 for norms known exactly). */
        public Builder normSafety(double s) {
            this.normSafety = s;
            return this;
        }

        public StabilityCertificate build() {
            if (layerNorms.length == 0) {
                throw new IllegalArgumentException("layerNorms must not be empty");
            }
            if (maskedLayer < 0 || maskedLayer >= layerNorms.length) {
                throw new IllegalArgumentException("maskedLayer must be in [0, " + layerNorms.length + "), got "
                        + maskedLayer);
            }
            for (int j = 0; j < layerNorms.length; j++) {
                if (!(layerNorms[j] >= 0) || Double.isInfinite(layerNorms[j])) {
                    throw new IllegalArgumentException("norm of layer " + j + " must be finite and >= 0, got "
                            + layerNorms[j]);
                }
            }
            if (!(perturbationNorm >= 0) || Double.isInfinite(perturbationNorm)) {
                throw new IllegalArgumentException("perturbationNorm must be finite and >= 0, got " + perturbationNorm);
            }
            if (!(rho > 0) || Double.isInfinite(rho)) {
                throw new IllegalArgumentException("rho must be finite and > 0, got " + rho);
            }
            if (depth < 0) {
                throw new IllegalArgumentException("depth must be >= 0, got " + depth);
            }
            if (!(normSafety >= 1) || Double.isInfinite(normSafety)) {
                throw new IllegalArgumentException("normSafety must be finite and >= 1, got " + normSafety);
            }
            return new StabilityCertificate(this);
        }
    }
}
