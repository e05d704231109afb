package io.sparsetrain.prune.method;

import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskMaker;
import io.sparsetrain.prune.PrunableLayer;
import java.util.Arrays;

/**
 * CK pruning (Campfire section 2.1.1, Algorithm 1): whole k x k kernels, one per (output, input channel)
 * pair of the C x K matrix of kernels, ranked by the max |w| inside the kernel; the smallest are removed.
 *
 * <p>Exactness: the count is rounded to the nearest whole kernel, {@code round(zeros / ks)} kernels
 * (half up), so a request that is a multiple of ks (the {@link #granularity}) is met exactly; the
 * global controller allocates whole kernels and corrects the remainder elsewhere. At least one kernel
 * stays. Layers with kernel size 1 get plain magnitude pruning.
 */
public final class KernelPruner implements MaskMaker {

    @Override
    public String name() {
        return "ck";
    }

    @Override
    public int granularity(LayerShape shape) {
        return shape.kernelSize();
    }

    @Override
    public Mask makeMaskWithZeros(PrunableLayer layer, int zeros) {
        MaskMaker.checkZeros(this, layer, zeros);
        LayerShape s = layer.shape();
        int ks = s.kernelSize();
        if (ks == 1) {
            return Mask.fromKeep(s, MagnitudePruner.keep(layer.weights(), zeros));
        }
        int kernels = (zeros + ks / 2) / ks; // nearest whole kernel
        boolean[] keep = new boolean[s.size()];
        Arrays.fill(keep, true);
        pruneKernels(layer.weights(), s, keep, kernels);
        return Mask.fromKeep(s, keep);
    }

    /** Clears the {@code kernels} kernels of smallest max |w| (ties to the lower kernel index). */
    static void pruneKernels(float[] w, LayerShape s, boolean[] keep, int kernels) {
        int ks = s.kernelSize();
        int cin = s.inputChannels();
        long[] keys = new long[s.kernelCount()];
        int[] idx = new int[ks];
        for (int o = 0; o < s.outputs(); o++) {
            for (int c = 0; c < cin; c++) {
                Ranking.kernelIndices(s, o, c, idx);
                float max = 0f;
                for (int e = 0; e < ks; e++) {
                    max = Math.max(max, Math.abs(w[idx[e]]));
                }
                keys[o * cin + c] = Ranking.key(max, o * cin + c);
            }
        }
        Arrays.sort(keys);
        for (int j = 0; j < kernels; j++) {
            int kernel = Ranking.indexOf(keys[j]);
            Ranking.kernelIndices(s, kernel / cin, kernel % cin, idx);
            for (int e = 0; e < ks; e++) {
                keep[idx[e]] = false;
            }
        }
    }

    @Override
    public String toString() {
        return "KernelPruner{}";
    }
}
