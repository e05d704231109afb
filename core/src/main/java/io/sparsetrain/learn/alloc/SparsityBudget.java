package io.sparsetrain.learn.alloc;

import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.global.LayerSparsity;
import io.sparsetrain.prune.method.MagnitudePruner;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A per-layer zero count from a baseline allocation ({@link UniformAllocation}, {@link ErkAllocation})
 * whose total is exactly round(target * total weights); every layer keeps at least one weight.
 * {@link #toMasks} turns it into per-layer magnitude masks. Immutable.
 */
public final class SparsityBudget {
    private final String method;
    private final double targetSparsity;
    private final long targetZeros;
    private final List<LayerSparsity> layers;

    SparsityBudget(String method, double targetSparsity, long targetZeros, List<LayerSparsity> layers) {
        this.method = method;
        this.targetSparsity = targetSparsity;
        this.targetZeros = targetZeros;
        this.layers = List.copyOf(layers);
    }

    /** Allocation name, e.g. "uniform" or "erk". */
    public String method() {
        return method;
    }

    public double targetSparsity() {
        return targetSparsity;
    }

    public long targetZeros() {
        return targetZeros;
    }

    /** One row per layer, in input order (role ALLOCATED). */
    public List<LayerSparsity> layers() {
        return layers;
    }

    /** Zeros allocated to a layer. */
    public int zeros(String name) {
        for (LayerSparsity l : layers) {
            if (l.name().equals(name)) {
                return l.zeros();
            }
        }
        throw new IllegalArgumentException("no layer named " + name + " in this budget");
    }

    public long zeros() {
        long z = 0;
        for (LayerSparsity l : layers) {
            z += l.zeros();
        }
        return z;
    }

    public long weights() {
        long n = 0;
        for (LayerSparsity l : layers) {
            n += l.weights();
        }
        return n;
    }

    /** Per-layer magnitude masks at exactly these counts ({@link MagnitudePruner}). */
    public MaskSet toMasks(List<PrunableLayer> prunable) {
        Map<String, PrunableLayer> byName = new HashMap<>();
        prunable.forEach(l -> byName.put(l.name(), l));
        MagnitudePruner pruner = new MagnitudePruner();
        MaskSet.Builder b = MaskSet.builder();
        for (LayerSparsity row : layers) {
            PrunableLayer l = byName.get(row.name());
            if (l == null || !l.shape().equals(row.shape())) {
                throw new IllegalArgumentException("budget layer " + row.name() + " " + row.shape()
                        + " not found among the given layers");
            }
            b.put(row.name(), pruner.makeMaskWithZeros(l, row.zeros()));
        }
        return b.build();
    }

    /**
     * Integer counts summing to exactly {@code total}: floor of each ideal (capped), then one more to the
     * layers with the largest fractional parts (ties to the earlier layer), repeated while caps bind.
     */
    static long[] roundToTotal(double[] ideal, long[] cap, long total) {
        int n = ideal.length;
        long[] out = new long[n];
        long sum = 0;
        for (int i = 0; i < n; i++) {
            out[i] = Math.max(0, Math.min(cap[i], (long) Math.floor(ideal[i])));
            sum += out[i];
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        order.sort((a, b) -> {
            int c = Double.compare(ideal[b] - Math.floor(ideal[b]), ideal[a] - Math.floor(ideal[a]));
            return c != 0 ? c : Integer.compare(a, b);
        });
        while (sum < total) {
            boolean moved = false;
            for (int i : order) {
                if (sum == total) {
                    break;
                }
                if (out[i] < cap[i]) {
                    out[i]++;
                    sum++;
                    moved = true;
                }
            }
            if (!moved) {
                throw new IllegalArgumentException("cannot place " + total + " zeros: the layers hold at most " + sum);
            }
        }
        while (sum > total) { // only if ideals overshoot; take back from the smallest fractional parts
            boolean moved = false;
            for (int j = n - 1; j >= 0 && sum > total; j--) {
                int i = order.get(j);
                if (out[i] > 0) {
                    out[i]--;
                    sum--;
                    moved = true;
                }
            }
            if (!moved) {
                throw new IllegalStateException("cannot reduce zeros to " + total);
            }
        }
        return out;
    }

    /** A fixed-width table for the job log. */
    public String toTable() {
        int w = 5;
        for (LayerSparsity l : layers) {
            w = Math.max(w, l.name().length());
        }
        String fmt = "%-" + w + "s  %-22s  %10s  %10s  %8s%n";
        StringBuilder sb = new StringBuilder(String.format(fmt, "layer", "shape", "weights", "zeros", "sparsity"));
        for (LayerSparsity l : layers) {
            sb.append(String.format(fmt, l.name(), l.shape(), l.weights(), l.zeros(),
                    String.format("%.4f", l.sparsity())));
        }
        sb.append(String.format("%s: %d of %d weights pruned (target %.5f, %d zeros)%n", method, zeros(), weights(),
                targetSparsity, targetZeros));
        return sb.toString();
    }

    @Override
    public String toString() {
        return toTable();
    }
}
