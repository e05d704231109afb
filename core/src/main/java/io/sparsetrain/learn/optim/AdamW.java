package io.sparsetrain.learn.optim;

/**
 * AdamW (Loshchilov and Hutter, "Decoupled weight decay regularization", algorithm 2) over one flat
 * parameter array, the optimizer the learned 2:4 mask paper trains its logits with (METHODS.md section 2).
 * One instance holds the first and second moment estimates of one parameter array (kept in double) and
 * updates it in place:
 * <pre>
 *   m = b1 m + (1 - b1) g,   v = b2 v + (1 - b2) g^2
 *   p = p - lr * wd * p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 * </pre>
 * The weight decay is decoupled (applied to the parameter, not added to the gradient). With
 * {@code weightDecay = 0} this is plain Adam. Not thread-safe.
 */
public final class AdamW {
    /** Step size per update. */
    public static final double DEFAULT_LEARNING_RATE = 1e-3;
    public static final double DEFAULT_BETA1 = 0.9;
    public static final double DEFAULT_BETA2 = 0.999;
    public static final double DEFAULT_EPSILON = 1e-8;
    /** Decoupled weight decay per step, as a fraction of lr (PyTorch's AdamW default). */
    public static final double DEFAULT_WEIGHT_DECAY = 0.01;

    private final Config config;
    private final double[] m;
    private final double[] v;
    private long step;

    /** An optimizer for a parameter array of {@code size} entries. */
    public AdamW(Config config, int size) {
        if (size < 0) {
            throw new IllegalArgumentException("parameter size must be >= 0, got " + size);
        }
        this.config = java.util.Objects.requireNonNull(config, "config");
        this.m = new double[size];
        this.v = new double[size];
    }

    public Config config() {
        return config;
    }

    /** Number of updates done so far. */
    public long stepCount() {
        return step;
    }

    /** Parameter count this optimizer was made for. */
    public int size() {
        return m.length;
    }

    /** One update of {@code params} (in place) with gradient {@code grads}. */
    public void step(float[] params, float[] grads) {
        checkSizes(params.length, grads.length);
        step++;
        double lr = config.learningRate;
        double c1 = 1 - Math.pow(config.beta1, step);
        double c2 = 1 - Math.pow(config.beta2, step);
        for (int i = 0; i < params.length; i++) {
            params[i] = (float) update(i, params[i], grads[i], lr, c1, c2);
        }
    }

    /** One update of {@code params} (in place) with gradient {@code grads}. */
    public void step(double[] params, double[] grads) {
        checkSizes(params.length, grads.length);
        step++;
        double lr = config.learningRate;
        double c1 = 1 - Math.pow(config.beta1, step);
        double c2 = 1 - Math.pow(config.beta2, step);
        for (int i = 0; i < params.length; i++) {
            params[i] = update(i, params[i], grads[i], lr, c1, c2);
        }
    }

    private double update(int i, double p, double g, double lr, double c1, double c2) {
        m[i] = config.beta1 * m[i] + (1 - config.beta1) * g;
        v[i] = config.beta2 * v[i] + (1 - config.beta2) * g * g;
        double mHat = m[i] / c1;
        double vHat = v[i] / c2;
        p -= lr * config.weightDecay * p; // decoupled decay, on the pre-update value
        return p - lr * mHat / (Math.sqrt(vHat) + config.epsilon);
    }

    private void checkSizes(int params, int grads) {
        if (params != m.length || grads != m.length) {
            throw new IllegalArgumentException("AdamW was made for " + m.length + " parameters, got params of length "
                    + params + " and grads of length " + grads);
        }
    }

    /** Clears the moments and the step count. */
    public void reset() {
        java.util.Arrays.fill(m, 0);
        java.util.Arrays.fill(v, 0);
        step = 0;
    }

    @Override
    public String toString() {
        return "AdamW{" + config + ", size=" + m.length + ", step=" + step + "}";
    }

    public static Config.Builder builder() {
        return new Config.Builder();
    }

    /** Immutable AdamW settings. */
    public static final class Config {
        private final double learningRate;
        private final double beta1;
        private final double beta2;
        private final double epsilon;
        private final double weightDecay;

        private Config(Builder b) {
            this.learningRate = b.learningRate;
            this.beta1 = b.beta1;
            this.beta2 = b.beta2;
            this.epsilon = b.epsilon;
            this.weightDecay = b.weightDecay;
        }

        /** All defaults. */
        public static Config defaults() {
            return new Builder().build();
        }

        public double learningRate() {
            return learningRate;
        }

        public double beta1() {
            return beta1;
        }

        public double beta2() {
            return beta2;
        }

        public double epsilon() {
            return epsilon;
        }

        public double weightDecay() {
            return weightDecay;
        }

        /** A builder starting from these settings. */
        public Builder toBuilder() {
            return new Builder().learningRate(learningRate).beta1(beta1).beta2(beta2).epsilon(epsilon)
                    .weightDecay(weightDecay);
        }

        @Override
        public String toString() {
            return "lr=" + learningRate + ", beta1=" + beta1 + ", beta2=" + beta2 + ", eps=" + epsilon
                    + ", weightDecay=" + weightDecay;
        }

        /** Builder; every setting is optional. */
        public static final class Builder {
            private double learningRate = DEFAULT_LEARNING_RATE;
            private double beta1 = DEFAULT_BETA1;
            private double beta2 = DEFAULT_BETA2;
            private double epsilon = DEFAULT_EPSILON;
            private double weightDecay = DEFAULT_WEIGHT_DECAY;

            private Builder() {
            }

            public Builder learningRate(double v) {
                this.learningRate = v;
                return this;
            }

            public Builder beta1(double v) {
                this.beta1 = v;
                return this;
            }

            public Builder beta2(double v) {
                this.beta2 = v;
                return this;
            }

            public Builder epsilon(double v) {
                this.epsilon = v;
                return this;
            }

            public Builder weightDecay(double v) {
                this.weightDecay = v;
                return this;
            }

            public Config build() {
                if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
                    throw new IllegalArgumentException("learningRate must be finite and > 0, got " + learningRate);
                }
                if (!(beta1 >= 0 && beta1 < 1)) {
                    throw new IllegalArgumentException("beta1 must be in [0, 1), got " + beta1);
                }
                if (!(beta2 >= 0 && beta2 < 1)) {
                    throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
                }
                if (!(epsilon > 0)) {
                    throw new IllegalArgumentException("epsilon must be > 0, got " + epsilon);
                }
                if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
                    throw new IllegalArgumentException("weightDecay must be finite and >= 0, got " + weightDecay);
                }
                return new Config(this);
            }
        }
    }
}
