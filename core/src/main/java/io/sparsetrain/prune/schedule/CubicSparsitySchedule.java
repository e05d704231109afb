package io.sparsetrain.prune.schedule;

/**
 * Target sparsity (fraction of zeros, 0..1) per optimizer step under a pruning era: the cubic schedule
 * of Zhu and Gupta as used by Campfire (papers/campfire-gradual-structured-pruning.txt, equation 1):
 *
 * <pre>
 *   s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (n*dt))^e      for t0 &lt;= t &lt;= t0 + n*dt
 * </pre>
 *
 * with t the global step (0-based, counted over all epochs), t0 = startEpoch * stepsPerEpoch,
 * n*dt = lengthEpochs * stepsPerEpoch. Before t0 the model is dense (sparsity 0, whatever s_i);
 * after t0 + n*dt the sparsity stays s_f and the mask is frozen ({@link #isFrozen}). Masks are
 * re-evaluated after every weight update while {@link #isPruning} is true, the last time at the
 * final step of the era.
 *
 * <p>Immutable; build with {@link #builder()}. All validation happens in {@link Builder#build()}.
 */
public final class CubicSparsitySchedule {
    /** First epoch of the pruning era (the paper's best runs start at 30-40 of 90). */
    public static final int DEFAULT_START_EPOCH = 30;
    /** Length of the pruning era in epochs (the paper's best: 20-30). */
    public static final int DEFAULT_LENGTH_EPOCHS = 20;
    /** Exponent e of the schedule. */
    public static final double DEFAULT_EXPONENT = 3.0;
    /** Sparsity s_i at the start of the era (fraction of zeros). */
    public static final double DEFAULT_INITIAL_SPARSITY = 0.0;

    private final int startEpoch;
    private final int lengthEpochs;
    private final long stepsPerEpoch;
    private final double exponent;
    private final double initialSparsity;
    private final double finalSparsity;
    private final long startStep;
    private final long eraSteps;

    private CubicSparsitySchedule(Builder b) {
        this.startEpoch = b.startEpoch;
        this.lengthEpochs = b.lengthEpochs;
        this.stepsPerEpoch = b.stepsPerEpoch;
        this.exponent = b.exponent;
        this.initialSparsity = b.initialSparsity;
        this.finalSparsity = b.finalSparsity;
        this.startStep = startEpoch * stepsPerEpoch;
        this.eraSteps = lengthEpochs * stepsPerEpoch;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Target sparsity (fraction of zeros) after optimizer step {@code step} (0-based, global).
     *
     * @throws IllegalArgumentException if step is negative
     */
    public double sparsityAt(long step) {
        checkStep(step);
        if (step < startStep) {
            return 0.0; // dense before the era
        }
        if (step >= startStep + eraSteps) {
            return finalSparsity;
        }
        double progress = (step - startStep) / (double) eraSteps;
        return finalSparsity + (initialSparsity - finalSparsity) * Math.pow(1.0 - progress, exponent);
    }

    /** True before the era: no mask at all. */
    public boolean isDense(long step) {
        checkStep(step);
        return step < startStep;
    }

    /** True inside the era, end step included: the mask is re-evaluated after this step's update. */
    public boolean isPruning(long step) {
        checkStep(step);
        return step >= startStep && step <= startStep + eraSteps;
    }

    /** True after the era: the mask computed at the era's last step is kept for the rest of training. */
    public boolean isFrozen(long step) {
        checkStep(step);
        return step > startStep + eraSteps;
    }

    private static void checkStep(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
    }

    /** First step of the era, t0 = startEpoch * stepsPerEpoch. */
    public long startStep() {
        return startStep;
    }

    /** Last step of the era, t0 + n*dt; {@link #isFrozen} is true from the next step on. */
    public long endStep() {
        return startStep + eraSteps;
    }

    public int startEpoch() {
        return startEpoch;
    }

    public int lengthEpochs() {
        return lengthEpochs;
    }

    public long stepsPerEpoch() {
        return stepsPerEpoch;
    }

    public double exponent() {
        return exponent;
    }

    public double initialSparsity() {
        return initialSparsity;
    }

    public double finalSparsity() {
        return finalSparsity;
    }

    @Override
    public String toString() {
        return "CubicSparsitySchedule{startEpoch=" + startEpoch + ", lengthEpochs=" + lengthEpochs
                + ", stepsPerEpoch=" + stepsPerEpoch + ", exponent=" + exponent
                + ", initialSparsity=" + initialSparsity + ", finalSparsity=" + finalSparsity
                + ", startStep=" + startStep + ", endStep=" + endStep() + "}";
    }

    /** Builder: {@code stepsPerEpoch} and {@code finalSparsity} are required, the rest have defaults. */
    public static final class Builder {
        private int startEpoch = DEFAULT_START_EPOCH;
        private int lengthEpochs = DEFAULT_LENGTH_EPOCHS;
        private long stepsPerEpoch = -1;
        private double exponent = DEFAULT_EXPONENT;
        private double initialSparsity = DEFAULT_INITIAL_SPARSITY;
        private double finalSparsity = Double.NaN;

        private Builder() {
        }

        /** First epoch of the pruning era (0-based). */
        public Builder startEpoch(int startEpoch) {
            this.startEpoch = startEpoch;
            return this;
        }

        /** Era length in epochs, n*dt / stepsPerEpoch. */
        public Builder lengthEpochs(int lengthEpochs) {
            this.lengthEpochs = lengthEpochs;
            return this;
        }

        /** Optimizer steps (weight updates) per epoch. Required. */
        public Builder stepsPerEpoch(long stepsPerEpoch) {
            this.stepsPerEpoch = stepsPerEpoch;
            return this;
        }

        public Builder exponent(double exponent) {
            this.exponent = exponent;
            return this;
        }

        /** s_i, fraction of zeros at the first step of the era. */
        public Builder initialSparsity(double initialSparsity) {
            this.initialSparsity = initialSparsity;
            return this;
        }

        /** s_f, fraction of zeros from the era's end on. Required. */
        public Builder finalSparsity(double finalSparsity) {
            this.finalSparsity = finalSparsity;
            return this;
        }

        /** Validates every setting in one place. */
        public CubicSparsitySchedule build() {
            if (startEpoch < 0) {
                throw new IllegalArgumentException("startEpoch must be >= 0, got " + startEpoch);
            }
            if (lengthEpochs < 1) {
                throw new IllegalArgumentException("lengthEpochs must be >= 1, got " + lengthEpochs);
            }
            if (stepsPerEpoch < 1) {
                throw new IllegalArgumentException("stepsPerEpoch must be set and >= 1, got " + stepsPerEpoch);
            }
            if ((startEpoch + (double) lengthEpochs) * stepsPerEpoch > Long.MAX_VALUE / 2) {
                throw new IllegalArgumentException("startEpoch=" + startEpoch + ", lengthEpochs=" + lengthEpochs
                        + " and stepsPerEpoch=" + stepsPerEpoch + " overflow the step counter");
            }
            if (!(exponent > 0) || Double.isInfinite(exponent)) {
                throw new IllegalArgumentException("exponent must be finite and > 0, got " + exponent);
            }
            if (!(finalSparsity >= 0 && finalSparsity < 1)) {
                throw new IllegalArgumentException("finalSparsity must be set and in [0, 1), got " + finalSparsity);
            }
            if (!(initialSparsity >= 0 && initialSparsity <= finalSparsity)) {
                throw new IllegalArgumentException("initialSparsity must be in [0, finalSparsity=" + finalSparsity
                        + "], got " + initialSparsity);
            }
            return new CubicSparsitySchedule(this);
        }
    }
}
