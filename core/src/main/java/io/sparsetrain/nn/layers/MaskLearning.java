package io.sparsetrain.nn.layers;

import io.sparsetrain.learn.nm.NmPatterns;
import io.sparsetrain.learn.nm.TemperatureSchedule;
import io.sparsetrain.prune.nm.NmGroupOrder;
import java.io.Serializable;
import java.util.Objects;

/**
 * The mask-learning settings a sparse layer configuration carries in DL4J's JSON (field
 * {@code maskLearning}; absent or null means {@link MaskMode#FIXED}). Immutable: change a layer's
 * settings by setting a new instance ({@link #withTemperature}, ...).
 *
 * <p>Learned N:M ({@link MaskMode#LEARNED_NM}, METHODS.md section 2): in a training forward pass
 * the layer uses W * m with m = P softmax((a + g) / tau) per group of M along K, g Gumbel(0, 1) noise
 * (off with {@code gumbelNoise=false}), or the hard one-hot pattern of argmax((a + g) / tau) with a
 * soft backward pass when {@code straightThrough}; inference uses the hard argmax mask of the logits.
 *
 * <p>Threshold ({@link MaskMode#THRESHOLD}, METHODS.md section 3): m = 1[|W| &gt; T] in both passes;
 * the backward pass treats m_i as the smoothed step Phi((|w_i| - T) / h), so
 * dL/dT = -sum_i dL/dm_i * phi((|w_i| - T) / h) / h with h = {@code steBandwidth} (weight units).
 * Summed over a layer this is N * (p(T) + p(-T)) times the average dL/dm, the same kernel-density
 * derivative that bridges thresholds to sparsity ({@code KernelDensityBridge}).
 */
public final class MaskLearning implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Seed of the Gumbel noise unless set. */
    public static final long DEFAULT_NOISE_SEED = 42L;

    private MaskMode mode = MaskMode.FIXED;
    private int n;
    private int m;
    private double tau = TemperatureSchedule.DEFAULT_TAU;
    private boolean straightThrough;
    private boolean gumbelNoise = true;
    private long noiseSeed = DEFAULT_NOISE_SEED;
    private boolean adjustWeights;
    private double steBandwidth = 1e-2;
    private NmGroupOrder groupOrder = NmGroupOrder.KERNEL;

    /** For JSON deserialization. */
    public MaskLearning() {
    }

    private MaskLearning copy() {
        MaskLearning c = new MaskLearning();
        c.mode = mode;
        c.n = n;
        c.m = m;
        c.tau = tau;
        c.straightThrough = straightThrough;
        c.gumbelNoise = gumbelNoise;
        c.noiseSeed = noiseSeed;
        c.adjustWeights = adjustWeights;
        c.steBandwidth = steBandwidth;
        c.groupOrder = groupOrder;
        return c;
    }

    /**
     * Learned N:M logits.
     *
     * @param tau Gumbel-softmax temperature, finite and &gt; 0
     * @throws IllegalArgumentException unless 1 &lt;= N &lt; M &lt;= {@link NmPatterns#MAX_M}
     */
    public static MaskLearning learnedNm(int n, int m, double tau, boolean straightThrough) {
        NmPatterns.of(n, m); // validates
        MaskLearning c = new MaskLearning();
        c.mode = MaskMode.LEARNED_NM;
        c.n = n;
        c.m = m;
        c.tau = checkTau(tau);
        c.straightThrough = straightThrough;
        return c;
    }

    /**
     * A learned magnitude threshold.
     *
     * @param steBandwidth h of the straight-through gradient, weight units, finite and &gt; 0
     * @param adjustWeights whether W is trainable too (default in the jobs: false, frozen)
     */
    public static MaskLearning threshold(double steBandwidth, boolean adjustWeights) {
        MaskLearning c = new MaskLearning();
        c.mode = MaskMode.THRESHOLD;
        c.steBandwidth = checkBandwidth(steBandwidth);
        c.adjustWeights = adjustWeights;
        return c;
    }

    private static double checkTau(double tau) {
        if (!(tau > 0) || Double.isInfinite(tau)) {
            throw new IllegalArgumentException("temperature tau must be finite and > 0, got " + tau);
        }
        return tau;
    }

    private static double checkBandwidth(double h) {
        if (!(h > 0) || Double.isInfinite(h)) {
            throw new IllegalArgumentException("steBandwidth must be finite and > 0, got " + h);
        }
        return h;
    }

    public MaskLearning withTemperature(double tau) {
        MaskLearning c = copy();
        c.tau = checkTau(tau);
        return c;
    }

    public MaskLearning withGumbelNoise(boolean on) {
        MaskLearning c = copy();
        c.gumbelNoise = on;
        return c;
    }

    public MaskLearning withNoiseSeed(long seed) {
        MaskLearning c = copy();
        c.noiseSeed = seed;
        return c;
    }

    /** Learned N:M: which weights form a group (default {@link NmGroupOrder#KERNEL}). */
    public MaskLearning withGroupOrder(NmGroupOrder order) {
        MaskLearning c = copy();
        c.groupOrder = Objects.requireNonNull(order, "groupOrder");
        return c;
    }

    public MaskLearning withSteBandwidth(double h) {
        MaskLearning c = copy();
        c.steBandwidth = checkBandwidth(h);
        return c;
    }

    public MaskMode getMode() {
        return mode;
    }

    /** N of a learned N:M mask (0 otherwise). */
    public int getN() {
        return n;
    }

    /** M of a learned N:M mask (0 otherwise). */
    public int getM() {
        return m;
    }

    /** Learned N:M: which weights form a group ({@link NmGroupOrder#KERNEL} when absent from older JSON). */
    public NmGroupOrder getGroupOrder() {
        return groupOrder == null ? NmGroupOrder.KERNEL : groupOrder;
    }

    /** Gumbel-softmax temperature of training forward passes. */
    public double getTau() {
        return tau;
    }

    public boolean isStraightThrough() {
        return straightThrough;
    }

    /** Whether training forward passes add Gumbel noise (off: plain softmax, deterministic). */
    public boolean isGumbelNoise() {
        return gumbelNoise;
    }

    public long getNoiseSeed() {
        return noiseSeed;
    }

    /** Threshold mode: whether the weights are trainable as well (FCPTS's "minor adjustments"). */
    public boolean isAdjustWeights() {
        return adjustWeights;
    }

    /** Threshold mode: bandwidth of the straight-through gradient, weight units. */
    public double getSteBandwidth() {
        return steBandwidth;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MaskLearning c && c.mode == mode && c.n == n && c.m == m && c.tau == tau
                && c.straightThrough == straightThrough && c.gumbelNoise == gumbelNoise && c.noiseSeed == noiseSeed
                && c.adjustWeights == adjustWeights && c.steBandwidth == steBandwidth
                && c.getGroupOrder() == getGroupOrder();
    }

    @Override
    public int hashCode() {
        return Objects.hash(mode, n, m, tau, straightThrough, gumbelNoise, noiseSeed, adjustWeights, steBandwidth,
                getGroupOrder());
    }

    @Override
    public String toString() {
        switch (mode) {
            case LEARNED_NM:
                return "MaskLearning{learned " + n + ":" + m + ", tau=" + tau + ", straightThrough=" + straightThrough
                        + ", gumbelNoise=" + gumbelNoise + ", noiseSeed=" + noiseSeed + ", groups " + getGroupOrder().label()
                        + "-wise}";
            case THRESHOLD:
                return "MaskLearning{threshold, steBandwidth=" + steBandwidth + ", adjustWeights=" + adjustWeights + "}";
            default:
                return "MaskLearning{fixed}";
        }
    }
}
