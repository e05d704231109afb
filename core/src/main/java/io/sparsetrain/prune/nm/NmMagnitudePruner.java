package io.sparsetrain.prune.nm;

import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskMaker;
import io.sparsetrain.prune.PrunableLayer;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.function.IntUnaryOperator;

/**
 * N:M magnitude masks, the baseline of METHODS.md section 2 (NVIDIA Apex ASP): every row of the GEMM
 * view {@code [outputs, K]} is cut along K into groups of M consecutive entries and each group keeps its
 * N largest |w| (ties to the lower position). K is padded conceptually to a multiple of M with zeros,
 * so a last group of r &lt; M real entries keeps min(N, r) of them.
 *
 * <p>The sparsity is fixed by structure ({@link #fixedZeros}, 1 - N/M when M divides K); the global
 * controller accounts for it and distributes the rest of the target over the other layers.
 * Optionally an input-channel {@link ChannelPermutationSearch} runs first; the groups are then formed
 * along the permuted K and the mask is returned in the original layout (see {@link ChannelPermutation}
 * for how a layer stores and applies the permutation).
 */
public final class NmMagnitudePruner implements MaskMaker {
    private final int n;
    private final int m;
    private final ChannelPermutationSearch search;
    private final NmGroupOrder groupOrder;

    /** Without permutation search, groups along K ({@link NmGroupOrder#KERNEL}). */
    public NmMagnitudePruner(int n, int m) {
        this(n, m, NmGroupOrder.KERNEL);
    }

    /** Without permutation search, groups formed in {@code groupOrder}. */
    public NmMagnitudePruner(int n, int m, NmGroupOrder groupOrder) {
        checkNm(n, m);
        this.n = n;
        this.m = m;
        this.search = null;
        this.groupOrder = Objects.requireNonNull(groupOrder, "groupOrder");
    }

    /** With a permutation search of the same N:M, run for every mask. */
    public NmMagnitudePruner(ChannelPermutationSearch search) {
        this.n = search.n();
        this.m = search.m();
        this.search = search;
        this.groupOrder = NmGroupOrder.KERNEL;
    }

    static void checkNm(int n, int m) {
        if (n < 1 || m < 2 || n >= m) {
            throw new IllegalArgumentException("N:M mask needs 1 <= N < M, got N=" + n + ", M=" + m);
        }
    }

    public int n() {
        return n;
    }

    public int m() {
        return m;
    }

    /** Which weights form a group (channel-wise groups only without permutation search). */
    public NmGroupOrder groupOrder() {
        return groupOrder;
    }

    @Override
    public String name() {
        return n + ":" + m + (search != null ? "+perm" : "") + (groupOrder == NmGroupOrder.CHANNEL ? "/channel" : "");
    }

    /** Zeros of an N:M mask in a layer of this shape: (M - N) per full group, max(0, r - N) in a partial one. */
    @Override
    public OptionalInt fixedZeros(LayerShape shape) {
        int k = shape.k();
        int perRow = (k / m) * (m - n) + Math.max(0, k % m - n);
        return OptionalInt.of(perRow * shape.outputs());
    }

    @Override
    public int maxZeros(LayerShape shape) {
        return fixedZeros(shape).getAsInt();
    }

    /** The N:M mask; {@code zeros} must equal {@link #fixedZeros}. */
    @Override
    public Mask makeMaskWithZeros(PrunableLayer layer, int zeros) {
        int fixed = fixedZeros(layer.shape()).getAsInt();
        if (zeros != fixed) {
            throw new IllegalArgumentException(name() + " pruning of layer " + layer.name() + " " + layer.shape()
                    + " always has " + fixed + " zeros, got a request for " + zeros);
        }
        return prune(layer).mask();
    }

    /** The N:M mask, after a permutation search if this pruner has one. */
    public Mask makeMask(PrunableLayer layer) {
        return prune(layer).mask();
    }

    /** Mask and the permutation it was built with (identity without search). */
    public PermutedMask prune(PrunableLayer layer) {
        ChannelPermutation p = search != null ? search.search(layer) : ChannelPermutation.identity(layer.shape());
        return new PermutedMask(makeMask(layer, p), p);
    }

    /** The N:M mask with groups formed along the K order of {@code permutation}, in the original layout. */
    public Mask makeMask(PrunableLayer layer, ChannelPermutation permutation) {
        LayerShape s = layer.shape();
        if (permutation.channels() != s.inputChannels()) {
            throw new IllegalArgumentException("permutation has " + permutation.channels()
                    + " channels, layer " + layer.name() + " has " + s.inputChannels());
        }
        if (groupOrder != NmGroupOrder.KERNEL && !permutation.isIdentity()) {
            throw new IllegalArgumentException("channel permutations apply to groups along K, not to "
                    + groupOrder.label() + "-wise groups (layer " + layer.name() + ")");
        }
        float[] w = layer.weights();
        int k = s.k();
        boolean[] keep = new boolean[s.size()];
        int[] idx = new int[m];
        for (int r = 0; r < s.outputs(); r++) {
            for (int start = 0; start < k; start += m) {
                int len = Math.min(k, start + m) - start;
                for (int j = 0; j < len; j++) {
                    int p = start + j;
                    idx[j] = s.index(r, groupOrder == NmGroupOrder.KERNEL ? permutation.originalK(p)
                            : groupOrder.originalK(s, p));
                }
                // pick the n largest |w|, ties to the earlier position
                for (int t = 0; t < Math.min(n, len); t++) {
                    int best = -1;
                    for (int j = 0; j < len; j++) {
                        if (!keep[idx[j]] && (best < 0 || Math.abs(w[idx[j]]) > Math.abs(w[idx[best]]))) {
                            best = j;
                        }
                    }
                    keep[idx[best]] = true;
                }
            }
        }
        return Mask.fromKeep(s, keep);
    }

    /** True if every group of M consecutive K positions (identity order) keeps at most N weights. */
    public static boolean satisfiesNm(Mask mask, int n, int m) {
        return satisfiesNm(mask, n, m, ChannelPermutation.identity(mask.shape()));
    }

    /** True if every group of {@code order} keeps at most N weights. */
    public static boolean satisfiesNm(Mask mask, int n, int m, NmGroupOrder order) {
        return satisfiesNm(mask, n, m, p -> order.originalK(mask.shape(), p));
    }

    /** True if every group of M consecutive positions of the permuted K keeps at most N weights. */
    public static boolean satisfiesNm(Mask mask, int n, int m, ChannelPermutation permutation) {
        return satisfiesNm(mask, n, m, permutation::originalK);
    }

    /** Every group of M consecutive positions keeps at most N weights; position p holds K index originalK(p). */
    private static boolean satisfiesNm(Mask mask, int n, int m, IntUnaryOperator originalK) {
        checkNm(n, m);
        LayerShape s = mask.shape();
        int k = s.k();
        for (int r = 0; r < s.outputs(); r++) {
            for (int start = 0; start < k; start += m) {
                int kept = 0;
                for (int p = start; p < Math.min(k, start + m); p++) {
                    kept += mask.isKept(r, originalK.applyAsInt(p)) ? 1 : 0;
                }
                if (kept > n) {
                    return false;
                }
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return "NmMagnitudePruner{n=" + n + ", m=" + m + ", search=" + search + ", groupOrder=" + groupOrder + "}";
    }

    /**
     * An N:M mask (original layout) and the channel permutation along whose K order it is N:M.
     *
     * @param mask the mask
     * @param permutation input-channel order used to form the groups
     */
    public record PermutedMask(Mask mask, ChannelPermutation permutation) {
    }
}
