package io.sparsetrain.prune.nm;

import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.PrunableLayer;

/**
 * Input-channel permutation search for N:M magnitude pruning, after NVIDIA Apex ASP's channel-swap
 * search (Pool and Yu, "Channel Permutations for N:M Sparsity", NeurIPS 2021): find an order of the input
 * channels under which the N:M magnitude mask keeps more total |w|.
 *
 * <p>Deterministic and bounded: starting from the identity, passes over all channel pairs (a, b) in
 * lexicographic order evaluate the change in kept magnitude of the N:M groups the two channels touch
 * (every output row), and accept a swap only when it strictly improves the total (first improvement).
 * The search stops after a pass without improvement, after {@code maxPasses} passes, or after
 * {@code maxEvaluations} swap evaluations. The result never keeps less magnitude than the identity.
 * Groups follow the METHODS.md K order (channel, then kh, then kw), see {@link ChannelPermutation}.
 */
public final class ChannelPermutationSearch {
    public static final int DEFAULT_MAX_PASSES = 8;
    public static final long DEFAULT_MAX_EVALUATIONS = 2_000_000L;

    private final int n;
    private final int m;
    private final int maxPasses;
    private final long maxEvaluations;

    /** With {@link #DEFAULT_MAX_PASSES} and {@link #DEFAULT_MAX_EVALUATIONS}. */
    public ChannelPermutationSearch(int n, int m) {
        this(n, m, DEFAULT_MAX_PASSES, DEFAULT_MAX_EVALUATIONS);
    }

    public ChannelPermutationSearch(int n, int m, int maxPasses, long maxEvaluations) {
        NmMagnitudePruner.checkNm(n, m);
        if (maxPasses < 1) {
            throw new IllegalArgumentException("maxPasses must be >= 1, got " + maxPasses);
        }
        if (maxEvaluations < 1) {
            throw new IllegalArgumentException("maxEvaluations must be >= 1, got " + maxEvaluations);
        }
        this.n = n;
        this.m = m;
        this.maxPasses = maxPasses;
        this.maxEvaluations = maxEvaluations;
    }

    public int n() {
        return n;
    }

    public int m() {
        return m;
    }

    public int maxPasses() {
        return maxPasses;
    }

    public long maxEvaluations() {
        return maxEvaluations;
    }

    /** Searches a permutation for this layer. */
    public ChannelPermutation search(PrunableLayer layer) {
        LayerShape s = layer.shape();
        int rows = s.outputs();
        int channels = s.inputChannels();
        int ks = s.kernelSize();
        int k = s.k();
        int groups = (k + m - 1) / m;
        float[] abs = new float[s.size()]; // GEMM view, row-major [rows, K]
        float[] w = layer.weights();
        for (int r = 0; r < rows; r++) {
            for (int q = 0; q < k; q++) {
                abs[r * k + q] = Math.abs(w[s.index(r, q)]);
            }
        }
        int[] order = new int[channels];
        for (int i = 0; i < channels; i++) {
            order[i] = i;
        }
        float[] tmp = new float[m];
        double[] kept = new double[rows * groups];
        double before = 0;
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                kept[r * groups + g] = groupKept(abs, r, g, k, ks, order, tmp);
                before += kept[r * groups + g];
            }
        }
        double total = before;
        double[] fresh = new double[rows * 4 * (ks / m + 2)];
        int swaps = 0;
        long evaluations = 0;
        search:
        for (int pass = 0; pass < maxPasses; pass++) {
            boolean improved = false;
            for (int a = 0; a < channels - 1; a++) {
                int a0 = a * ks / m;
                int a1 = (a * ks + ks - 1) / m;
                for (int b = a + 1; b < channels; b++) {
                    int b0 = b * ks / m;
                    int b1 = (b * ks + ks - 1) / m;
                    if (a0 == b0 && a1 == b1) {
                        continue; // same groups: a swap changes nothing
                    }
                    if (evaluations >= maxEvaluations) {
                        break search;
                    }
                    evaluations++;
                    swap(order, a, b);
                    double delta = 0;
                    int f = 0;
                    for (int r = 0; r < rows; r++) {
                        for (int g = a0; g <= b1; g = nextGroup(g, a1, b0)) {
                            double v = groupKept(abs, r, g, k, ks, order, tmp);
                            fresh[f++] = v;
                            delta += v - kept[r * groups + g];
                        }
                    }
                    if (delta > 1e-9 * total) {
                        f = 0;
                        for (int r = 0; r < rows; r++) {
                            for (int g = a0; g <= b1; g = nextGroup(g, a1, b0)) {
                                kept[r * groups + g] = fresh[f++];
                            }
                        }
                        total += delta;
                        swaps++;
                        improved = true;
                    } else {
                        swap(order, a, b);
                    }
                }
            }
            if (!improved) {
                break;
            }
        }
        double after = keptMagnitude(layer, n, m, order);
        double identity = before;
        if (after < identity) { // cannot happen beyond rounding; never report a loss
            return new ChannelPermutation(ChannelPermutation.identity(s).order(), ks, identity, identity, 0,
                    evaluations);
        }
        return new ChannelPermutation(order, ks, identity, after, swaps, evaluations);
    }

    /** Iterates groups a0..a1 then b0..b1 (a0 <= b0), visiting shared groups once. */
    private static int nextGroup(int g, int a1, int b0) {
        if (g == a1 && b0 > a1 + 1) {
            return b0;
        }
        return g + 1;
    }

    private static void swap(int[] order, int a, int b) {
        int t = order[a];
        order[a] = order[b];
        order[b] = t;
    }

    /** Sum of the n largest |w| of group g in row r under the given channel order. */
    private double groupKept(float[] abs, int r, int g, int k, int ks, int[] order, float[] tmp) {
        int start = g * m;
        int len = Math.min(k, start + m) - start;
        int base = r * k;
        for (int j = 0; j < len; j++) {
            int p = start + j;
            tmp[j] = abs[base + order[p / ks] * ks + p % ks];
        }
        return topSum(tmp, len, n);
    }

    static double topSum(float[] v, int len, int n) {
        for (int i = 1; i < len; i++) { // insertion sort, descending: groups are tiny
            float x = v[i];
            int j = i - 1;
            while (j >= 0 && v[j] < x) {
                v[j + 1] = v[j];
                j--;
            }
            v[j + 1] = x;
        }
        double s = 0;
        for (int i = 0; i < Math.min(n, len); i++) {
            s += v[i];
        }
        return s;
    }

    /** Sum of |w| kept by the N:M magnitude mask of the layer under a channel order (slot to channel). */
    public static double keptMagnitude(PrunableLayer layer, int n, int m, int[] order) {
        NmMagnitudePruner.checkNm(n, m);
        LayerShape s = layer.shape();
        ChannelPermutation.checkPermutation(order, s.inputChannels());
        int ks = s.kernelSize();
        int k = s.k();
        float[] w = layer.weights();
        float[] tmp = new float[m];
        double total = 0;
        for (int r = 0; r < s.outputs(); r++) {
            for (int start = 0; start < k; start += m) {
                int len = Math.min(k, start + m) - start;
                for (int j = 0; j < len; j++) {
                    int p = start + j;
                    tmp[j] = Math.abs(w[s.index(r, order[p / ks] * ks + p % ks)]);
                }
                total += topSum(tmp, len, n);
            }
        }
        return total;
    }

    @Override
    public String toString() {
        return "ChannelPermutationSearch{n=" + n + ", m=" + m + ", maxPasses=" + maxPasses
                + ", maxEvaluations=" + maxEvaluations + "}";
    }
}
