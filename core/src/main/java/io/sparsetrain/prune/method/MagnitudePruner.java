package io.sparsetrain.prune.method;

import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskMaker;
import io.sparsetrain.prune.PrunableLayer;
import java.util.Arrays;

/**
 * Unstructured magnitude pruning inside one layer (Han et al.; Campfire's rule for 1x1 convolutions and
 * other layers): the {@code zeros} weights of smallest |w| are pruned, ties to the lower storage index.
 * Exact to one weight; at least one weight stays.
 */
public final class MagnitudePruner implements MaskMaker {

    @Override
    public String name() {
        return "magnitude";
    }

    @Override
    public Mask makeMaskWithZeros(PrunableLayer layer, int zeros) {
        MaskMaker.checkZeros(this, layer, zeros);
        return Mask.fromKeep(layer.shape(), keep(layer.weights(), zeros));
    }

    static boolean[] keep(float[] w, int zeros) {
        boolean[] keep = new boolean[w.length];
        Arrays.fill(keep, true);
        Ranking.pruneSmallestKept(w, keep, zeros, null);
        return keep;
    }

    @Override
    public String toString() {
        return "MagnitudePruner{}";
    }
}
