package io.sparsetrain.prune.method;

import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskMaker;
import io.sparsetrain.prune.PrunableLayer;

/**
 * Window pruning of k x k convolutions (Campfire section 2.1.1, Algorithm 3): every kernel keeps at most
 * a fixed number of non-zeros, its largest |w|, so hardware can allocate a fixed dataflow per kernel.
 *
 * <p>Exactness: for a layer of n weights, kernel size ks and z requested zeros, the cap is
 * {@code ks - floor(z*ks/n)} = ceil((1 - s)*ks) with s = z/n. Capping every kernel gives
 * {@code kernelCount*floor(z*ks/n) <= z} zeros; the remainder is then pruned by magnitude over the whole
 * layer among the surviving weights, which only lowers per-kernel counts. The layer therefore has
 * exactly z zeros and no kernel exceeds the cap. METHODS.md writes the cap as round((1 - s)*ks); the
 * ceiling is the same whenever round() rounds up and is the smallest cap that never overshoots the
 * requested sparsity (with round() rounding down, the layer could not be exact without breaking the cap).
 *
 * <p>Layers with kernel size 1 (1x1 convolutions, dense layers) get plain magnitude pruning.
 */
public final class WindowPruner implements MaskMaker {

    @Override
    public String name() {
        return "window";
    }

    /**
     * Non-zeros allowed per kernel for a layer of this shape with {@code zeros} zeros:
     * {@code ks - floor(zeros*ks/size)}.
     */
    public static int maxNonZerosPerKernel(LayerShape shape, int zeros) {
        int ks = shape.kernelSize();
        return ks - (int) ((long) zeros * ks / shape.size());
    }

    @Override
    public Mask makeMaskWithZeros(PrunableLayer layer, int zeros) {
        MaskMaker.checkZeros(this, layer, zeros);
        return Mask.fromKeep(layer.shape(), keep(layer, zeros));
    }

    static boolean[] keep(PrunableLayer layer, int zeros) {
        LayerShape s = layer.shape();
        float[] w = layer.weights();
        int ks = s.kernelSize();
        if (ks == 1) {
            return MagnitudePruner.keep(w, zeros);
        }
        int cap = maxNonZerosPerKernel(s, zeros);
        boolean[] keep = new boolean[w.length];
        int[] idx = new int[ks];
        for (int o = 0; o < s.outputs(); o++) {
            for (int c = 0; c < s.inputChannels(); c++) {
                Ranking.kernelIndices(s, o, c, idx);
                Ranking.sortByAbsDescending(w, idx, ks);
                for (int e = 0; e < cap; e++) {
                    keep[idx[e]] = true;
                }
            }
        }
        int windowZeros = s.kernelCount() * (ks - cap);
        assert windowZeros <= zeros;
        Ranking.pruneSmallestKept(w, keep, zeros - windowZeros, null); // exact remainder, layer-wide
        return keep;
    }

    @Override
    public String toString() {
        return "WindowPruner{}";
    }
}
