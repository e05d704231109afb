package io.sparsetrain.learn.alloc;

import java.util.Arrays;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * The differentiable bridge from a magnitude threshold to a layer's sparsity of FCPTS (METHODS.md
 * section 3, the paper's equations 11-12): with n weights w_i sampled from the layer and normalised,
 * a Gaussian kernel density estimate p(w) = 1/(n h) sum_i phi((w - w_i) / h) gives
 * <pre>
 *   r(t)    = integral_{-t}^{t} p(w) dw = 1/n sum_i [Phi((t - w_i)/h) - Phi((-t - w_i)/h)]
 *   dr / dt = p(t) + p(-t)
 * </pre>
 * r(0) = 0, r is increasing in t and tends to 1; it approximates the fraction of weights with |w| &lt;= t.
 *
 * <p><b>Normalisation:</b> weights are divided by the layer's root mean square sqrt(mean(w^2)) (the
 * standard deviation about zero, since the mask |w| &gt; t is symmetric about zero), computed over all
 * weights of the layer, not only the samples. Max |w| was rejected: it is set by one outlier, and on
 * weights squeezed into [-1, 1] the paper's h = 0.5 would be a quarter of the whole range and smear the
 * density; after RMS normalisation h = 0.5 is half a standard deviation, close to Silverman's rule for
 * n = 100 (1.06 n^{-1/5} = 0.42), which is the regime the paper's setting implies. Thresholds t of this
 * class are in normalised units; {@link #toWeightUnits} multiplies by the RMS. An all-zero layer has
 * scale 1.
 *
 * <p>Sampling: n distinct weights chosen by seed (Floyd's algorithm), all weights when the layer has at
 * most n. Immutable.
 */
public final class KernelDensityBridge {
    /** The paper's sample count n. */
    public static final int DEFAULT_SAMPLES = 100;
    /** The paper's bandwidth h, on RMS-normalised weights. */
    public static final double DEFAULT_BANDWIDTH = 0.5;

    private final double[] samples;
    private final double bandwidth;
    private final double scale;

    private KernelDensityBridge(double[] samples, double bandwidth, double scale) {
        this.samples = samples;
        this.bandwidth = bandwidth;
        this.scale = scale;
    }

    /** A bridge with the paper's n = 100, h = 0.5. */
    public static KernelDensityBridge fromWeights(float[] weights, long seed) {
        return fromWeights(weights, DEFAULT_SAMPLES, DEFAULT_BANDWIDTH, seed);
    }

    /**
     * @param weights the layer's weights (only read)
     * @param samples n, the number of weights sampled
     * @param bandwidth h, in normalised units
     * @param seed sampling seed
     */
    public static KernelDensityBridge fromWeights(float[] weights, int samples, double bandwidth, long seed) {
        Objects.requireNonNull(weights, "weights");
        if (weights.length == 0) {
            throw new IllegalArgumentException("weights must not be empty");
        }
        if (samples < 1) {
            throw new IllegalArgumentException("samples must be >= 1, got " + samples);
        }
        if (!(bandwidth > 0) || Double.isInfinite(bandwidth)) {
            throw new IllegalArgumentException("bandwidth must be finite and > 0, got " + bandwidth);
        }
        double ss = 0;
        for (float w : weights) {
            ss += (double) w * w;
        }
        double rms = Math.sqrt(ss / weights.length);
        double scale = rms > 0 ? rms : 1;
        int[] idx = sampleIndices(weights.length, samples, seed);
        double[] s = new double[idx.length];
        for (int i = 0; i < idx.length; i++) {
            s[i] = weights[idx[i]] / scale;
        }
        return new KernelDensityBridge(s, bandwidth, scale);
    }

    /** A bridge over given, already normalised samples (scale 1), e.g. for tests. */
    public static KernelDensityBridge fromNormalizedSamples(double[] samples, double bandwidth) {
        if (samples.length == 0) {
            throw new IllegalArgumentException("samples must not be empty");
        }
        if (!(bandwidth > 0) || Double.isInfinite(bandwidth)) {
            throw new IllegalArgumentException("bandwidth must be finite and > 0, got " + bandwidth);
        }
        return new KernelDensityBridge(samples.clone(), bandwidth, 1);
    }

    /** n distinct indices of [0, size), sorted; Floyd's algorithm so large layers cost O(n log n). */
    static int[] sampleIndices(int size, int n, long seed) {
        if (size <= n) {
            int[] all = new int[size];
            Arrays.setAll(all, i -> i);
            return all;
        }
        SplittableRandom r = new SplittableRandom(seed);
        TreeSet<Integer> chosen = new TreeSet<>();
        for (int j = size - n; j < size; j++) {
            int t = r.nextInt(j + 1);
            chosen.add(chosen.contains(t) ? j : t);
        }
        return chosen.stream().mapToInt(Integer::intValue).toArray();
    }

    /** r(t): KDE estimate of the fraction of weights with |w| &lt;= t (t normalised). */
    public double sparsity(double t) {
        double sum = 0;
        for (double w : samples) {
            sum += StandardNormal.cdf((t - w) / bandwidth) - StandardNormal.cdf((-t - w) / bandwidth);
        }
        return sum / samples.length;
    }

    /** The kernel density estimate p(w), w normalised. */
    public double density(double w) {
        double sum = 0;
        for (double wi : samples) {
            sum += StandardNormal.pdf((w - wi) / bandwidth);
        }
        return sum / (samples.length * bandwidth);
    }

    /** dr/dt = p(t) + p(-t). */
    public double derivative(double t) {
        return density(t) + density(-t);
    }

    /** The t &gt;= 0 with r(t) = r, by bisection (r in [0, 1)). */
    public double thresholdFor(double r) {
        if (!(r >= 0 && r < 1)) {
            throw new IllegalArgumentException("sparsity r must be in [0, 1), got " + r);
        }
        double lo = 0;
        double hi = 1;
        while (sparsity(hi) < r) {
            hi *= 2;
        }
        for (int i = 0; i < 100 && hi - lo > 1e-12 * hi; i++) {
            double mid = 0.5 * (lo + hi);
            if (sparsity(mid) < r) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return 0.5 * (lo + hi);
    }

    /** The normalisation scale: the layer's RMS (1 for an all-zero layer). */
    public double scale() {
        return scale;
    }

    public double bandwidth() {
        return bandwidth;
    }

    /** The normalised samples (a copy). */
    public double[] samples() {
        return samples.clone();
    }

    /** A normalised threshold in weight units, t * scale. */
    public double toWeightUnits(double t) {
        return t * scale;
    }

    /** A weight-unit threshold in normalised units. */
    public double toNormalized(double weightThreshold) {
        return weightThreshold / scale;
    }

    @Override
    public String toString() {
        return "KernelDensityBridge{n=" + samples.length + ", h=" + bandwidth + ", scale(rms)=" + scale + "}";
    }
}
