package io.sparsetrain.learn.strbn;

import java.util.Objects;

/**
 * The soft threshold reparameterisation of the BatchNorm scale of STR-BN (METHODS.md section 4; Kusupati
 * et al., STR, applied to BN's gamma):
 * <pre>
 *   gamma_eff = sign(gamma) * relu(|gamma| - g(s)),   g = sigmoid by default
 * </pre>
 * with one learnable scalar s per BN layer (the caller holds one s per layer and updates it, e.g. with
 * {@link io.sparsetrain.learn.optim.AdamW} over a {@code double[]} of all layers' s).
 *
 * <p>Gradients, where |gamma| &gt; g(s): d gamma_eff / d gamma = 1 and d gamma_eff / d s = -sign(gamma) g'(s);
 * where |gamma| &lt; g(s) both are 0. At the kink |gamma| = g(s) this class takes the subgradient 0 (the
 * dead side, consistent with relu'(0) = 0 in most frameworks), and at gamma = 0 sign(0) = 0.
 * A channel is dead when gamma_eff = 0, i.e. |gamma| &lt;= g(s). Immutable.
 */
public final class StrBnThreshold {
    /** The threshold function g. */
    public enum ThresholdFunction {
        /** g(s) = 1 / (1 + e^{-s}), the STR default. */
        SIGMOID,
        /** g(s) = e^s, the other choice of the STR paper. */
        EXP;

        /** g(s). */
        public double value(double s) {
            return this == SIGMOID ? 1 / (1 + Math.exp(-s)) : Math.exp(s);
        }

        /** g'(s). */
        public double derivative(double s) {
            if (this == SIGMOID) {
                double g = value(s);
                return g * (1 - g);
            }
            return Math.exp(s);
        }
    }

    public static final ThresholdFunction DEFAULT_FUNCTION = ThresholdFunction.SIGMOID;
    /** Initial s: sigmoid(-5) = 0.0067, so almost no channel starts dead. */
    public static final double DEFAULT_INITIAL_S = -5.0;

    private final ThresholdFunction function;
    private final double initialS;

    private StrBnThreshold(ThresholdFunction function, double initialS) {
        this.function = function;
        this.initialS = initialS;
    }

    public static StrBnThreshold defaults() {
        return new StrBnThreshold(DEFAULT_FUNCTION, DEFAULT_INITIAL_S);
    }

    public static StrBnThreshold of(ThresholdFunction function, double initialS) {
        Objects.requireNonNull(function, "function");
        if (!Double.isFinite(initialS)) {
            throw new IllegalArgumentException("initialS must be finite, got " + initialS);
        }
        return new StrBnThreshold(function, initialS);
    }

    public ThresholdFunction function() {
        return function;
    }

    /** The value to start each layer's s from. */
    public double initialS() {
        return initialS;
    }

    /** g(s), the threshold on |gamma|. */
    public double threshold(double s) {
        return function.value(s);
    }

    /** gamma_eff per channel. */
    public float[] effectiveGamma(float[] gamma, double s) {
        double t = threshold(s);
        float[] out = new float[gamma.length];
        for (int c = 0; c < gamma.length; c++) {
            double a = Math.abs((double) gamma[c]) - t;
            out[c] = a > 0 ? (float) (Math.signum(gamma[c]) * a) : 0f;
        }
        return out;
    }

    /** gamma_eff per channel, in double precision (for layers that compute in double, e.g. gradient checks). */
    public double[] effectiveGamma(double[] gamma, double s) {
        double t = threshold(s);
        double[] out = new double[gamma.length];
        for (int c = 0; c < gamma.length; c++) {
            double a = Math.abs(gamma[c]) - t;
            out[c] = a > 0 ? Math.signum(gamma[c]) * a : 0;
        }
        return out;
    }

    /**
     * {@link #backward(float[], double, float[])} in double precision.
     *
     * @param dGammaOut receives dL/d gamma per channel
     * @return dL/ds
     */
    public double backward(double[] gamma, double s, double[] dLdGammaEff, double[] dGammaOut) {
        if (dLdGammaEff.length != gamma.length || dGammaOut.length != gamma.length) {
            throw new IllegalArgumentException("dLdGammaEff has length " + dLdGammaEff.length + ", dGammaOut "
                    + dGammaOut.length + ", gamma " + gamma.length);
        }
        double t = threshold(s);
        double dt = function.derivative(s);
        double dS = 0;
        for (int c = 0; c < gamma.length; c++) {
            if (Math.abs(gamma[c]) > t) {
                dGammaOut[c] = dLdGammaEff[c];
                dS -= Math.signum(gamma[c]) * dt * dLdGammaEff[c];
            } else {
                dGammaOut[c] = 0;
            }
        }
        return dS;
    }

    /** True for channels with gamma_eff = 0, in double precision. */
    public boolean[] deadChannels(double[] gamma, double s) {
        double t = threshold(s);
        boolean[] dead = new boolean[gamma.length];
        for (int c = 0; c < gamma.length; c++) {
            dead[c] = Math.abs(gamma[c]) <= t;
        }
        return dead;
    }

    /**
     * Pulls dL/d gamma_eff back to gamma and s (subgradient 0 at the kink, see the class comment).
     *
     * @return dL/d gamma per channel and dL/ds
     */
    public Gradients backward(float[] gamma, double s, float[] dLdGammaEff) {
        if (dLdGammaEff.length != gamma.length) {
            throw new IllegalArgumentException("dLdGammaEff has length " + dLdGammaEff.length + ", gamma has "
                    + gamma.length);
        }
        double t = threshold(s);
        double dt = function.derivative(s);
        float[] dGamma = new float[gamma.length];
        double dS = 0;
        for (int c = 0; c < gamma.length; c++) {
            if (Math.abs((double) gamma[c]) > t) {
                dGamma[c] = dLdGammaEff[c];
                dS -= Math.signum(gamma[c]) * dt * dLdGammaEff[c];
            }
        }
        return new Gradients(dGamma, dS);
    }

    /** True for channels with gamma_eff = 0 (|gamma| &lt;= g(s)). */
    public boolean[] deadChannels(float[] gamma, double s) {
        double t = threshold(s);
        boolean[] dead = new boolean[gamma.length];
        for (int c = 0; c < gamma.length; c++) {
            dead[c] = Math.abs((double) gamma[c]) <= t;
        }
        return dead;
    }

    @Override
    public String toString() {
        return "StrBnThreshold{function=" + function + ", initialS=" + initialS + "}";
    }

    /**
     * Gradients of {@link #backward}.
     *
     * @param gamma dL/d gamma per channel
     * @param s dL/ds
     */
    public record Gradients(float[] gamma, double s) {
    }
}
