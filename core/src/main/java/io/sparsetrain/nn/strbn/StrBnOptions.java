package io.sparsetrain.nn.strbn;

import io.sparsetrain.learn.strbn.StrBnThreshold;
import java.util.Locale;
import java.util.Objects;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.schedule.ISchedule;

/**
 * Settings of an STR-BN run ({@link StrBnSparsifier}). Immutable; build with {@link #builder()}.
 *
 * <p>The defaults are those of the STR-BN reference configuration (RAIVNLab/STR-BN,
 * {@code configs/largescale/resnet50-str-bn.yaml}): SGD with momentum 0.875 (DL4J has no heavy-ball
 * momentum, so Nesterov momentum), learning rate 0.256 per 256 examples (linearly scaled to the batch
 * size) with cosine decay, weight decay 3.0517578125e-5 on every parameter including s (PyTorch's coupled
 * weight decay = DL4J L2), g = sigmoid and s initialised to -100. The paper trains 100 epochs from
 * scratch with these; as a few-epoch fine-tune of a trained network they remove next to nothing, because
 * g(-100) = 4e-44 and the decay moves s by about lr * decay * |s| per step. The knob that makes filters
 * die in a short run is the decay on gamma ({@link Builder#gammaDecay}) and on s
 * ({@link Builder#thresholdDecay}) with a higher initial s; package-info documents what our tests used.
 */
public final class StrBnOptions {

    /** Optimizers the run can use. */
    public enum Optimizer { NESTEROVS, SGD, ADAM }

    public static final int DEFAULT_EPOCHS = 5;
    public static final Optimizer DEFAULT_OPTIMIZER = Optimizer.NESTEROVS;
    public static final double DEFAULT_MOMENTUM = 0.875;
    /** Learning rate for a batch of 256; the run uses {@code lr * batch / 256} unless set explicitly. */
    public static final double DEFAULT_LEARNING_RATE_PER_256 = 0.256;
    public static final double DEFAULT_WEIGHT_DECAY = 0.000030517578125;
    public static final StrBnThreshold.ThresholdFunction DEFAULT_FUNCTION = StrBnThreshold.ThresholdFunction.SIGMOID;
    public static final double DEFAULT_INITIAL_S = -100;
    public static final boolean DEFAULT_COSINE = true;

    private final int epochs;
    private final Optimizer optimizer;
    private final double momentum;
    private final Double learningRate;
    private final double learningRatePer256;
    private final boolean cosine;
    private final double weightDecay;
    private final double thresholdDecay;
    private final double gammaDecay;
    private final StrBnThreshold.ThresholdFunction function;
    private final double initialS;
    private final long maxStepsPerEpoch;
    private final int fineTuneEpochs;
    private final Double fineTuneLearningRate;
    private final double stopAtRemoved;
    private final double distillWeight;

    private StrBnOptions(Builder b) {
        if (b.epochs < 1) {
            throw new IllegalArgumentException("epochs must be >= 1, got epochs=" + b.epochs);
        }
        if (!(b.momentum >= 0 && b.momentum < 1)) {
            throw new IllegalArgumentException("momentum must be in [0, 1), got momentum=" + b.momentum);
        }
        if (b.learningRate != null && !(b.learningRate > 0)) {
            throw new IllegalArgumentException("learningRate must be > 0, got learningRate=" + b.learningRate);
        }
        if (!(b.learningRatePer256 > 0)) {
            throw new IllegalArgumentException("learningRatePer256 must be > 0, got learningRatePer256=" + b.learningRatePer256);
        }
        if (!(b.weightDecay >= 0)) {
            throw new IllegalArgumentException("weightDecay must be >= 0, got weightDecay=" + b.weightDecay);
        }
        double td = b.thresholdDecay == null ? b.weightDecay : b.thresholdDecay;
        if (!(td >= 0)) {
            throw new IllegalArgumentException("thresholdDecay must be >= 0, got thresholdDecay=" + td);
        }
        double gd = b.gammaDecay == null ? b.weightDecay : b.gammaDecay;
        if (!(gd >= 0)) {
            throw new IllegalArgumentException("gammaDecay must be >= 0, got gammaDecay=" + gd);
        }
        if (!Double.isFinite(b.initialS)) {
            throw new IllegalArgumentException("initialS must be finite, got initialS=" + b.initialS);
        }
        if (b.maxStepsPerEpoch < 0) {
            throw new IllegalArgumentException("maxStepsPerEpoch must be >= 0 (0 = whole epoch), got " + b.maxStepsPerEpoch);
        }
        this.epochs = b.epochs;
        this.optimizer = Objects.requireNonNull(b.optimizer, "optimizer");
        this.momentum = b.momentum;
        this.learningRate = b.learningRate;
        this.learningRatePer256 = b.learningRatePer256;
        this.cosine = b.cosine;
        this.weightDecay = b.weightDecay;
        this.thresholdDecay = td;
        this.gammaDecay = gd;
        this.function = Objects.requireNonNull(b.function, "thresholdFunction");
        this.initialS = b.initialS;
        this.maxStepsPerEpoch = b.maxStepsPerEpoch;
        if (b.fineTuneEpochs < 0) {
            throw new IllegalArgumentException("fineTuneEpochs must be >= 0, got fineTuneEpochs=" + b.fineTuneEpochs);
        }
        this.fineTuneEpochs = b.fineTuneEpochs;
        if (b.fineTuneLearningRate != null && !(b.fineTuneLearningRate > 0 && Double.isFinite(b.fineTuneLearningRate))) {
            throw new IllegalArgumentException("fineTuneLearningRate must be finite and > 0, got fineTuneLearningRate="
                    + b.fineTuneLearningRate);
        }
        this.fineTuneLearningRate = b.fineTuneLearningRate;
        if (!(b.stopAtRemoved >= 0 && b.stopAtRemoved < 1)) {
            throw new IllegalArgumentException("stopAtRemoved must be in [0, 1) (0 = off), got stopAtRemoved=" + b.stopAtRemoved);
        }
        this.stopAtRemoved = b.stopAtRemoved;
        if (!(b.distillWeight >= 0 && b.distillWeight <= 1)) {
            throw new IllegalArgumentException("distillWeight must be in [0, 1] (0 = labels only), got distillWeight=" + b.distillWeight);
        }
        this.distillWeight = b.distillWeight;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The paper's defaults. */
    public static StrBnOptions defaults() {
        return builder().build();
    }

    public int epochs() { return epochs; }
    public Optimizer optimizer() { return optimizer; }
    public double momentum() { return momentum; }
    public double learningRatePer256() { return learningRatePer256; }
    public boolean cosine() { return cosine; }
    /** L2 on weights, biases, gamma and beta_hat (per step, DL4J's l2 coefficient). */
    public double weightDecay() { return weightDecay; }
    /** L2 on each layer's threshold s: STR's sparsity pressure (defaults to {@link #weightDecay()}). */
    public double thresholdDecay() { return thresholdDecay; }
    /**
     * L2 on the STR-BN gammas (defaults to {@link #weightDecay()}): shrinks gammas towards the threshold,
     * the other sparsity pressure (network slimming, Liu et al. 2017, puts an L1 penalty there).
     */
    public double gammaDecay() { return gammaDecay; }
    public StrBnThreshold.ThresholdFunction thresholdFunction() { return function; }
    public double initialS() { return initialS; }
    /** At most this many minibatches per epoch (0 = the whole iterator). */
    public long maxStepsPerEpoch() { return maxStepsPerEpoch; }
    /**
     * Epochs of plain training of the smaller model after the dead filters are removed (0 = none): every
     * remaining parameter, the same optimizer and learning rate (a fresh cosine decay), {@link #weightDecay()}
     * only, no sparsity pressure. The recovery phase the pressure-on run lacks.
     */
    public int fineTuneEpochs() { return fineTuneEpochs; }

    /**
     * The base learning rate of the fine-tune (its own cosine decay): the explicit one, or the STR-BN phase's
     * {@link #learningRate(int)}.
     */
    public double fineTuneLearningRate(int batchSize) {
        return fineTuneLearningRate != null ? fineTuneLearningRate : learningRate(batchSize);
    }

    /**
     * End the STR-BN phase early, as soon as this fraction of the filters can be physically removed (checked every
     * {@link #STOP_CHECK_STEPS} steps); 0 = run every epoch. Lets a run aim at a filter budget instead of tuning the
     * decays until the right number dies.
     */
    public double stopAtRemoved() { return stopAtRemoved; }

    /**
     * Distillation from the trained graph, in both phases: each minibatch's targets become
     * {@code (1 - w) * labels + w * softmax(trained(x))}, the trained graph's probabilities on the same (augmented)
     * images; 0 = the labels only. With a softmax + cross-entropy output the step then follows
     * {@code (1 - w) CE(labels) + w KL(trained || model)} (up to a constant). Needs one softmax output trained on
     * cross-entropy.
     */
    public double distillWeight() { return distillWeight; }

    /** Steps between two checks of {@link #stopAtRemoved()}. */
    public static final int STOP_CHECK_STEPS = 25;

    /** The threshold rule of every STR-BN layer. */
    public StrBnThreshold threshold() {
        return StrBnThreshold.of(function, initialS);
    }

    /** The base learning rate for minibatches of {@code batchSize}: the explicit one, or lr per 256 scaled. */
    public double learningRate(int batchSize) {
        return learningRate != null ? learningRate : learningRatePer256 * batchSize / 256.0;
    }

    /** The updater of {@code totalSteps} steps starting at base learning rate {@code lr}. */
    IUpdater updater(double lr, long totalSteps) {
        ISchedule schedule = cosine ? new CosineSchedule(lr, totalSteps) : null;
        return switch (optimizer) {
            case NESTEROVS -> schedule != null ? new Nesterovs(schedule, momentum) : new Nesterovs(lr, momentum);
            case SGD -> schedule != null ? new Sgd(schedule) : new Sgd(lr);
            case ADAM -> schedule != null ? new Adam(schedule) : new Adam(lr);
        };
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "StrBnOptions{epochs=%d, optimizer=%s, momentum=%s, learningRate=%s, learningRatePer256=%s, "
                        + "cosine=%s, weightDecay=%s, thresholdDecay=%s, gammaDecay=%s, thresholdFunction=%s, initialS=%s, maxStepsPerEpoch=%d, fineTuneEpochs=%d, "
                        + "fineTuneLearningRate=%s, stopAtRemoved=%s, distillWeight=%s}",
                epochs, optimizer, momentum, learningRate == null ? "scaled" : learningRate, learningRatePer256, cosine, weightDecay,
                thresholdDecay, gammaDecay, function, initialS, maxStepsPerEpoch, fineTuneEpochs,
                fineTuneLearningRate == null ? "as learningRate" : fineTuneLearningRate, stopAtRemoved == 0 ? "off" : stopAtRemoved,
                distillWeight == 0 ? "off" : distillWeight);
    }

    public static final class Builder {
        private int epochs = DEFAULT_EPOCHS;
        private Optimizer optimizer = DEFAULT_OPTIMIZER;
        private double momentum = DEFAULT_MOMENTUM;
        private Double learningRate;
        private double learningRatePer256 = DEFAULT_LEARNING_RATE_PER_256;
        private boolean cosine = DEFAULT_COSINE;
        private double weightDecay = DEFAULT_WEIGHT_DECAY;
        private Double thresholdDecay;
        private Double gammaDecay;
        private StrBnThreshold.ThresholdFunction function = DEFAULT_FUNCTION;
        private double initialS = DEFAULT_INITIAL_S;
        private long maxStepsPerEpoch;
        private int fineTuneEpochs;
        private Double fineTuneLearningRate;
        private double stopAtRemoved;
        private double distillWeight;

        public Builder epochs(int v) { epochs = v; return this; }
        public Builder optimizer(Optimizer v) { optimizer = v; return this; }
        /** Momentum of {@link Optimizer#NESTEROVS}. */
        public Builder momentum(double v) { momentum = v; return this; }
        /** A fixed base learning rate (instead of {@code learningRatePer256 * batch / 256}). */
        public Builder learningRate(double v) { learningRate = v; return this; }
        public Builder learningRatePer256(double v) { learningRatePer256 = v; return this; }
        /** Cosine decay of the learning rate to 0 over the run (else constant). */
        public Builder cosine(boolean v) { cosine = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder thresholdDecay(double v) { thresholdDecay = v; return this; }
        public Builder gammaDecay(double v) { gammaDecay = v; return this; }
        public Builder thresholdFunction(StrBnThreshold.ThresholdFunction v) { function = v; return this; }
        public Builder initialS(double v) { initialS = v; return this; }
        public Builder maxStepsPerEpoch(long v) { maxStepsPerEpoch = v; return this; }
        public Builder fineTuneEpochs(int v) { fineTuneEpochs = v; return this; }
        /** The fine-tune's base learning rate (null = the STR-BN phase's). */
        public Builder fineTuneLearningRate(Double v) { fineTuneLearningRate = v; return this; }
        /** See {@link StrBnOptions#stopAtRemoved()}. */
        public Builder stopAtRemoved(double v) { stopAtRemoved = v; return this; }
        /** See {@link StrBnOptions#distillWeight()}. */
        public Builder distillWeight(double v) { distillWeight = v; return this; }

        public StrBnOptions build() {
            return new StrBnOptions(this);
        }
    }
}
