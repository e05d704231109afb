package io.sparsetrain.learn.alloc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.learn.LearnTestData;
import org.junit.jupiter.api.Test;

class KernelDensityBridgeTest {
    private final float[] weights = LearnTestData.gaussianArray(5000, 0.03, 17);
    private final KernelDensityBridge bridge = KernelDensityBridge.fromWeights(weights, 3);

    @Test
    void sparsityIsZeroAtZeroMonotoneAndTendsToOne() {
        assertEquals(0, bridge.sparsity(0), 0);
        double prev = 0;
        for (double t = 0.01; t < 8; t += 0.01) {
            double r = bridge.sparsity(t);
            assertTrue(t < 4 ? r > prev : r >= prev, "r must increase at t=" + t); // saturates at 1 in double
            assertTrue(r <= 1);
            prev = r;
        }
        assertEquals(1, bridge.sparsity(50), 1e-12);
        assertEquals(100, bridge.samples().length);
        assertEquals(0.03, bridge.scale(), 0.002); // RMS of N(0, 0.03^2)
    }

    @Test
    void derivativeMatchesFiniteDifferences() {
        double h = 1e-5;
        for (double t = 0; t < 5; t += 0.13) {
            double fd = (bridge.sparsity(t + h) - bridge.sparsity(t - h)) / (2 * h);
            assertEquals(fd, bridge.derivative(t), 1e-8, "t=" + t);
        }
    }

    @Test
    void estimatesTheCountedSparsity() {
        // normalised Gaussian weights, h = 0.5: the KDE sparsity is the counted one smoothed; close at mid range
        double t = 0.6745; // |w| <= 0.6745 sigma holds half of a Gaussian
        int counted = 0;
        for (float w : weights) {
            counted += Math.abs(w) <= bridge.toWeightUnits(t) ? 1 : 0;
        }
        assertEquals(counted / (double) weights.length, bridge.sparsity(t), 0.15);
        assertEquals(0.5, counted / (double) weights.length, 0.03);
    }

    @Test
    void thresholdForInvertsSparsity() {
        for (double r : new double[] {0.0, 0.1, 0.5, 0.9, 0.99}) {
            assertEquals(r, bridge.sparsity(bridge.thresholdFor(r)), 1e-9);
        }
    }

    @Test
    void samplingIsDeterministicBySeed() {
        assertArrayEquals(bridge.samples(), KernelDensityBridge.fromWeights(weights, 3).samples());
        assertTrue(!java.util.Arrays.equals(bridge.samples(), KernelDensityBridge.fromWeights(weights, 4).samples()));
        int[] idx = KernelDensityBridge.sampleIndices(1000, 100, 9);
        assertEquals(100, java.util.Arrays.stream(idx).distinct().count());
        assertEquals(7, KernelDensityBridge.fromWeights(new float[7], 1).samples().length);
    }

    @Test
    void rejectsBadArguments() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KernelDensityBridge.fromWeights(weights, 100, 0, 1));
        assertTrue(e.getMessage().contains("bandwidth"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> bridge.thresholdFor(1.0));
    }
}
