package io.sparsetrain.learn.alloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.learn.LearnTestData;
import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.PrunableLayer;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class ThresholdAllocatorTest {
    private static final List<PrunableLayer> RESNET = LearnTestData.resnet20(2024);

    private static long totalWeights(List<PrunableLayer> layers) {
        long n = 0;
        for (PrunableLayer l : layers) {
            n += l.size();
        }
        return n;
    }

    @Test
    void startsAtTheUniformAllocationInEveryLayer() {
        ThresholdAllocator a = new ThresholdAllocator(RESNET, ThresholdAllocator.builder(0.7).build());
        SparsityBudget uniform = UniformAllocation.allocate(RESNET, 0.7);
        double[] r = a.countedSparsities();
        for (int l = 0; l < r.length; l++) {
            assertEquals(uniform.zeros(RESNET.get(l).name()), Math.round(r[l] * RESNET.get(l).size()), "layer " + l);
        }
        assertEquals(0.7, a.countedGlobalSparsity(), 1.0 / totalWeights(RESNET));
        assertEquals(0, a.controlLoss(), 1.0 / totalWeights(RESNET));
    }

    @Test
    void startsAtTheErkAllocationOnRequest() {
        ThresholdAllocator a = new ThresholdAllocator(RESNET,
                ThresholdAllocator.builder(0.9).init(ThresholdAllocator.Init.ERK).build());
        SparsityBudget erk = ErkAllocation.allocate(RESNET, 0.9);
        double[] r = a.countedSparsities();
        for (int l = 0; l < r.length; l++) {
            assertEquals(erk.zeros(RESNET.get(l).name()), Math.round(r[l] * RESNET.get(l).size()), "layer " + l);
        }
    }

    @Test
    void theKdeStartHasTheTargetKdeSparsityInEveryLayer() {
        ThresholdAllocator a = new ThresholdAllocator(RESNET,
                ThresholdAllocator.builder(0.7).init(ThresholdAllocator.Init.KDE).countedControl(false).build());
        for (double r : a.kdeSparsities()) {
            assertEquals(0.7, r, 1e-8);
        }
        assertEquals(0, a.controlLoss(), 1e-8);
    }

    @Test
    void theControlLossSeesTheCountedSparsityNotTheKdeEstimate() {
        // at the exact uniform start the KDE (h = 0.5) underestimates the sparsity by several points
        ThresholdAllocator counted = new ThresholdAllocator(RESNET, ThresholdAllocator.builder(0.9).build());
        assertTrue(0.9 - counted.kdeGlobalSparsity() > 0.01, "KDE " + counted.kdeGlobalSparsity());
        assertEquals(0, counted.controlLoss(), 1e-5);
        ThresholdAllocator kde = new ThresholdAllocator(RESNET,
                ThresholdAllocator.builder(0.9).countedControl(false).build());
        assertTrue(kde.controlLoss() > 0.01);
        assertTrue(kde.controlLossGradient()[0] < 0, "the KDE loss would prune more than the target");
    }

    @Test
    void controlLossGradientMatchesFiniteDifferences() {
        ThresholdAllocator a = new ThresholdAllocator(RESNET.subList(0, 6),
                ThresholdAllocator.builder(0.5).countedControl(false).build()); // the KDE loss is differentiable
        SplittableRandom r = new SplittableRandom(3);
        for (int trial = 0; trial < 2; trial++) {
            double[] t = new double[6];
            for (int l = 0; l < t.length; l++) {
                t[l] = (trial == 0 ? 0.9 : 0.2) + 0.3 * r.nextDouble(); // above, then below the target: away from the kink
            }
            a.setThresholds(t);
            double[] g = a.controlLossGradient();
            double h = 1e-6;
            for (int l = 0; l < t.length; l++) {
                double[] up = t.clone();
                up[l] += h;
                double[] down = t.clone();
                down[l] -= h;
                a.setThresholds(up);
                double lu = a.controlLoss();
                a.setThresholds(down);
                double ld = a.controlLoss();
                assertEquals((lu - ld) / (2 * h), g[l], 1e-7, "layer " + l + " trial " + trial);
            }
            a.setThresholds(t);
            assertTrue(Math.abs(g[0]) > 0);
        }
    }

    @Test
    void stepsOnTheControlLossAloneReachTheTarget() {
        ThresholdAllocator a = new ThresholdAllocator(RESNET,
                ThresholdAllocator.builder(0.8).learningRate(0.02).build());
        double[] t = a.thresholds();
        for (int l = 0; l < t.length; l++) {
            t[l] *= 0.5; // start far below the target
        }
        a.setThresholds(t);
        double first = a.controlLoss();
        double loss = first;
        for (int it = 0; it < 300; it++) {
            loss = a.step(null);
        }
        assertTrue(first > 0.1, "start " + first);
        assertTrue(loss < 0.01, "after 300 steps " + loss);
    }

    @Test
    void reconstructionGradientMovesItsLayer() {
        ThresholdAllocator a = new ThresholdAllocator(RESNET, ThresholdAllocator.builder(0.6).build());
        double[] before = a.thresholds();
        double[] rec = new double[RESNET.size()];
        rec[3] = 1.0; // the reconstruction loss grows with t_3: lower it
        a.step(rec);
        assertTrue(a.thresholds()[3] < before[3]);
        assertThrows(IllegalArgumentException.class, () -> a.step(new double[2]));
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.0, 0.3, 0.5, 0.7, 0.9, 0.95, 0.99})
    void exactCorrectionHitsTheTargetToOneWeight(double target) {
        // learned thresholds deliberately off target and uneven across layers
        SplittableRandom r = new SplittableRandom(11);
        ThresholdAllocator a = new ThresholdAllocator(RESNET, ThresholdAllocator.builder(target).build());
        double[] t = a.thresholds();
        for (int l = 0; l < t.length; l++) {
            t[l] = Math.max(1e-3, t[l]) * (0.5 + r.nextDouble());
        }
        a.setThresholds(t);
        CorrectedAllocation c = a.exactCorrection();
        long n = totalWeights(RESNET);
        assertEquals(Math.round(target * n), c.zeros());
        assertTrue(Math.abs(c.globalSparsity() - target) <= 0.5 / n + 1e-15);
        assertEquals(RESNET.size(), c.masks().size());
        // each layer's mask is a magnitude threshold: every pruned |w| <= every kept |w|
        double[] wt = a.weightThresholds();
        for (int l = 0; l < RESNET.size(); l++) {
            PrunableLayer layer = RESNET.get(l);
            Mask m = c.masks().get(layer.name());
            double maxPruned = 0;
            double minKept = Double.POSITIVE_INFINITY;
            for (int i = 0; i < layer.size(); i++) {
                double w = Math.abs(layer.weights()[i]);
                if (m.isKept(i)) {
                    minKept = Math.min(minKept, w);
                } else {
                    maxPruned = Math.max(maxPruned, w);
                }
            }
            assertTrue(maxPruned <= minKept, layer.name());
            assertEquals(wt[l] * c.scaleFactor(), c.rows().get(l).correctedThreshold(), 1e-12);
            assertTrue(maxPruned <= c.rows().get(l).correctedThreshold() * (1 + 1e-12));
        }
        assertTrue(c.toTable().contains("global:"));
    }

    @Test
    void exactCorrectionHandlesTiesAndExactZeros() {
        float[] w = new float[1001]; // many exact zeros and repeated values
        for (int i = 0; i < w.length; i++) {
            w[i] = (i % 3 == 0) ? 0f : (i % 2 == 0 ? 0.5f : -0.25f);
        }
        List<PrunableLayer> layers = List.of(
                new PrunableLayer("a", LayerShape.dense(7, 143), w),
                LearnTestData.layer("b", LayerShape.conv(4, 3, 3, 3), 1.0, 5));
        for (double target : new double[] {0.1, 0.333, 0.5, 0.77, 1.0}) {
            CorrectedAllocation c = ExactCorrection.apply(layers, new double[] {0.3, 0.4}, target);
            assertEquals(Math.round(target * 1109), c.zeros(), "target " + target);
        }
        CorrectedAllocation c = ExactCorrection.apply(layers, new double[] {0.3, 0.4}, 0.0);
        assertEquals(0, c.zeros());
    }

    @Test
    void rejectsBadArguments() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ThresholdAllocator.builder(1.0).build());
        assertTrue(e.getMessage().contains("targetSparsity"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ExactCorrection.apply(RESNET.subList(0, 2), new double[] {0.1, 0.0}, 0.5));
        assertTrue(e.getMessage().contains("layer1"), e.getMessage());
        assertTrue(ThresholdAllocator.builder(0.5).build().toString().contains("bandwidth=0.5"));
    }
}
