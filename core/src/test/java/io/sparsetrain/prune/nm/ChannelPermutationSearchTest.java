package io.sparsetrain.prune.nm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.TestLayers;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ChannelPermutationSearchTest {

    static final LayerShape[] SHAPES = {
        LayerShape.conv(16, 32, 1, 1),
        LayerShape.conv(8, 12, 3, 3),
        LayerShape.conv(6, 10, 1, 1),   // channels not a multiple of M
        LayerShape.dense(10, 24),
        LayerShape.denseInOut(24, 10),
    };

    @ParameterizedTest(name = "shape {0}")
    @ValueSource(ints = {0, 1, 2, 3, 4})
    void neverDecreasesKeptMagnitudeAndReturnsAPermutation(int shapeIndex) {
        PrunableLayer layer = TestLayers.random("l", SHAPES[shapeIndex], 77 + shapeIndex);
        ChannelPermutation p = new ChannelPermutationSearch(2, 4).search(layer);
        int[] sorted = p.order();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) {
            assertEquals(i, sorted[i]);
        }
        assertTrue(p.improvement() >= 0, p.toString());
        double identity = ChannelPermutationSearch.keptMagnitude(layer, 2, 4, ChannelPermutation.identity(
                layer.shape()).order());
        assertEquals(identity, p.keptMagnitudeBefore(), 1e-6 * identity);
        assertEquals(ChannelPermutationSearch.keptMagnitude(layer, 2, 4, p.order()), p.keptMagnitudeAfter(), 1e-9);

        // the mask is N:M along the permuted K and keeps exactly the reported magnitude
        NmMagnitudePruner pruner = new NmMagnitudePruner(2, 4);
        Mask mask = pruner.makeMask(layer, p);
        assertTrue(NmMagnitudePruner.satisfiesNm(mask, 2, 4, p));
        double kept = 0;
        for (int i = 0; i < layer.size(); i++) {
            kept += mask.isKept(i) ? Math.abs(layer.weights()[i]) : 0;
        }
        assertEquals(p.keptMagnitudeAfter(), kept, 1e-4 * kept);
        assertEquals(pruner.fixedZeros(layer.shape()).getAsInt(), mask.zeroCount());

        // deterministic
        assertEquals(p, new ChannelPermutationSearch(2, 4).search(layer));
    }

    @Test
    void findsTheObviousImprovement() {
        // dense [2, 8]: large weights crowd into channels 0-3, so identity 2:4 throws two away per row
        LayerShape s = LayerShape.dense(2, 8);
        float[] w = {9, 8, 7, 6, 1, 1, 1, 1,
                     9, 8, 7, 6, 1, 1, 1, 1};
        PrunableLayer layer = new PrunableLayer("fc", s, w);
        ChannelPermutation p = new ChannelPermutationSearch(2, 4).search(layer);
        assertEquals(2 * (9 + 8 + 1 + 1), p.keptMagnitudeBefore(), 1e-9);
        assertEquals(2 * (9 + 8 + 7 + 6), p.keptMagnitudeAfter(), 1e-9);
        assertFalse(p.isIdentity());
        assertTrue(p.swaps() > 0);

        // permuted weights plus the permutation reproduce the original layer
        float[] permuted = p.permuteWeights(w, s);
        int[] inv = p.inverse();
        for (int c = 0; c < 8; c++) {
            assertEquals(w[c], permuted[inv[c]]);
        }
        NmMagnitudePruner withSearch = new NmMagnitudePruner(new ChannelPermutationSearch(2, 4));
        NmMagnitudePruner.PermutedMask pm = withSearch.prune(layer);
        assertEquals(p, pm.permutation());
        for (int c = 0; c < 4; c++) {
            assertTrue(pm.mask().isKept(0, c), "channel " + c);
        }
        assertEquals("2:4+perm", withSearch.name());
    }

    @Test
    void respectsTheEvaluationBudget() {
        PrunableLayer layer = TestLayers.random("l", LayerShape.conv(16, 32, 1, 1), 5);
        ChannelPermutation p = new ChannelPermutationSearch(2, 4, 8, 10).search(layer);
        assertTrue(p.evaluations() <= 10);
        assertTrue(p.improvement() >= 0);
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> new ChannelPermutationSearch(2, 4, 0, 10));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ChannelPermutation.of(LayerShape.dense(2, 3), new int[] {0, 0, 2}));
        assertTrue(e.getMessage().contains("entry 1"), e.getMessage());
        assertArrayEquals(new int[] {2, 0, 1}, ChannelPermutation.of(LayerShape.dense(2, 3), new int[] {1, 2, 0})
                .inverse());
    }
}
