package io.sparsetrain.learn.alloc;

import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.global.LayerSparsity;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Shared checks and report building of the baseline allocations. */
final class Allocations {
    private Allocations() {
    }

    static void check(List<PrunableLayer> layers, double targetSparsity) {
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("layers must not be empty");
        }
        if (!(targetSparsity >= 0 && targetSparsity < 1)) {
            throw new IllegalArgumentException("targetSparsity must be in [0, 1), got " + targetSparsity);
        }
        long total = 0;
        Set<String> names = new HashSet<>();
        for (PrunableLayer l : layers) {
            if (!names.add(l.name())) {
                throw new IllegalArgumentException("duplicate layer name " + l.name());
            }
            total += l.size();
        }
        long target = Math.round(targetSparsity * total);
        if (target > total - layers.size()) {
            throw new IllegalArgumentException("targetSparsity " + targetSparsity + " needs " + target + " zeros but "
                    + layers.size() + " layers of " + total + " weights, each keeping one, allow at most "
                    + (total - layers.size()));
        }
    }

    static SparsityBudget budget(String method, List<PrunableLayer> layers, double targetSparsity, long target,
                                 long[] zeros) {
        List<LayerSparsity> rows = new ArrayList<>();
        for (int l = 0; l < layers.size(); l++) {
            PrunableLayer p = layers.get(l);
            rows.add(new LayerSparsity(p.name(), p.shape(), method, LayerSparsity.Role.ALLOCATED, p.size(),
                    (int) zeros[l]));
        }
        return new SparsityBudget(method, targetSparsity, target, rows);
    }
}
