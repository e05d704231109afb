package io.sparsetrain.learn.alloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.learn.LearnTestData;
import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.global.LayerSparsity;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class BaselineAllocationTest {
    private static final List<PrunableLayer> RESNET = LearnTestData.resnet20(7);

    @ParameterizedTest
    @ValueSource(doubles = {0.0, 0.123, 0.5, 0.7, 0.9, 0.97})
    void uniformAndErkHitTheGlobalTargetExactly(double target) {
        long n = 0;
        for (PrunableLayer l : RESNET) {
            n += l.size();
        }
        for (SparsityBudget b : List.of(UniformAllocation.allocate(RESNET, target), ErkAllocation.allocate(RESNET, target))) {
            assertEquals(Math.round(target * n), b.zeros(), b.method());
            for (LayerSparsity l : b.layers()) {
                assertTrue(l.zeros() >= 0 && l.zeros() < l.weights(), l.name());
            }
            MaskSet masks = b.toMasks(RESNET);
            assertEquals(b.zeros(), masks.zeroCount());
        }
        SparsityBudget u = UniformAllocation.allocate(RESNET, target);
        for (LayerSparsity l : u.layers()) {
            assertEquals(target, l.sparsity(), 1.0 / l.weights() + 1e-12, l.name());
        }
    }

    @Test
    void erkGivesSmallLayersLowerSparsity() {
        SparsityBudget erk = ErkAllocation.allocate(RESNET, 0.9);
        double stem = erk.layers().get(0).sparsity();          // [16,1,3,3]
        double big = erk.layers().get(16).sparsity();          // [64,64,3,3]
        double mid = erk.layers().get(10).sparsity();          // [32,32,3,3]
        double fc = erk.layers().get(erk.layers().size() - 1).sparsity();
        assertTrue(stem < mid && mid < big, stem + " " + mid + " " + big);
        assertTrue(fc < big);
        assertTrue(erk.layers().get(20).sparsity() < big, "1x1 [64,32] conv is small");
        assertTrue(big > 0.9, "large layers carry more than the average: " + big);
        // density ratios follow the ERK score for unsaturated layers
        double dMid = 1 - mid;
        double dBig = 1 - big;
        double expected = ErkAllocation.score(LayerShape.conv(32, 32, 3, 3)) / ErkAllocation.score(LayerShape.conv(64, 64, 3, 3));
        assertEquals(expected, dMid / dBig, 0.01 * expected);
    }

    @Test
    void erkCapsDensityAtOneAndRedistributes() {
        List<PrunableLayer> layers = List.of(
                LearnTestData.layer("tiny", LayerShape.dense(3, 4), 1, 1),
                LearnTestData.layer("huge", LayerShape.conv(128, 128, 3, 3), 1, 2));
        SparsityBudget b = ErkAllocation.allocate(layers, 0.5);
        assertEquals(0, b.zeros("tiny")); // its ERK density would exceed 1
        assertEquals(Math.round(0.5 * (12 + 147456)), b.zeros());
        assertEquals(1.0, ErkAllocation.score(LayerShape.dense(2, 2)), 1e-12);
    }

    @Test
    void rejectsImpossibleTargets() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> UniformAllocation.allocate(List.of(LearnTestData.layer("x", LayerShape.dense(1, 2), 1, 1)), 0.9));
        assertTrue(e.getMessage().contains("keeping one"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ErkAllocation.allocate(RESNET, 1.0));
    }
}
