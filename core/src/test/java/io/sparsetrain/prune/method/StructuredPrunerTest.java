package io.sparsetrain.prune.method;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.TestLayers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Structure of window, CK, combined and FC masks. */
class StructuredPrunerTest {

    static int keptInKernel(Mask m, int o, int c) {
        LayerShape s = m.shape();
        int kept = 0;
        for (int e = 0; e < s.kernelSize(); e++) {
            kept += m.isKept(o, c * s.kernelSize() + e) ? 1 : 0;
        }
        return kept;
    }

    @ParameterizedTest(name = "s={0}")
    @ValueSource(doubles = {0.1, 0.25, 0.3, 0.5, 0.55, 0.7, 0.8, 0.9})
    void windowCapsNonZerosPerKernel(double sparsity) {
        PrunableLayer layer = TestLayers.random("c", LayerShape.conv(24, 20, 3, 3), 7);
        Mask m = new WindowPruner().makeMask(layer, sparsity);
        int zeros = (int) Math.round(sparsity * layer.size());
        int cap = WindowPruner.maxNonZerosPerKernel(layer.shape(), zeros);
        assertEquals((int) Math.ceil((1 - sparsity) * 9 - 1e-9), cap);
        assertTrue(cap <= Math.round((1 - sparsity) * 9) + 1);
        int max = 0;
        for (int o = 0; o < 24; o++) {
            for (int c = 0; c < 20; c++) {
                max = Math.max(max, keptInKernel(m, o, c));
            }
        }
        assertTrue(max <= cap, "a kernel keeps " + max + " > cap " + cap);
        assertEquals(zeros, m.zeroCount());
    }

    @Test
    void windowKeepsTheLargestOfEachKernel() {
        // every kernel holds 1..9 in some order: at cap 3 the weights 7, 8, 9 stay
        LayerShape s = LayerShape.conv(2, 2, 3, 3);
        float[] w = new float[s.size()];
        for (int i = 0; i < w.length; i++) {
            w[i] = (i * 5 % 9) + 1;
        }
        Mask m = new WindowPruner().makeMaskWithZeros(new PrunableLayer("c", s, w), 24); // 6 of 9 per kernel
        for (int i = 0; i < w.length; i++) {
            assertEquals(w[i] >= 7, m.isKept(i), "weight " + i + " = " + w[i]);
        }
    }

    @ParameterizedTest(name = "s={0}")
    @ValueSource(doubles = {0.1, 0.3, 0.5, 0.7, 0.9})
    void ckRemovesWholeKernelsOnlyAndTheSmallestByMax(double sparsity) {
        PrunableLayer layer = TestLayers.random("c", LayerShape.conv(16, 12, 3, 3), 3);
        Mask m = new KernelPruner().makeMask(layer, sparsity);
        float maxRemoved = 0;
        float minKept = Float.MAX_VALUE;
        for (int o = 0; o < 16; o++) {
            for (int c = 0; c < 12; c++) {
                int kept = keptInKernel(m, o, c);
                assertTrue(kept == 0 || kept == 9, "kernel (" + o + "," + c + ") keeps " + kept);
                float max = 0;
                for (int e = 0; e < 9; e++) {
                    max = Math.max(max, Math.abs(layer.weights()[layer.shape().index(o, c * 9 + e)]));
                }
                if (kept == 0) {
                    maxRemoved = Math.max(maxRemoved, max);
                } else {
                    minKept = Math.min(minKept, max);
                }
            }
        }
        assertTrue(maxRemoved <= minKept);
        assertEquals(9L * Math.round(sparsity * layer.size() / 9.0), m.zeroCount());
    }

    @Test
    void combinedHonoursTheWindowCapOfItsWindowPhaseAndRemovesKernels() {
        PrunableLayer layer = TestLayers.random("c", LayerShape.conv(32, 32, 3, 3), 11);
        int zeros = (int) Math.round(0.7 * layer.size());
        Mask m = new CombinedPruner().makeMaskWithZeros(layer, zeros);
        assertEquals(zeros, m.zeroCount());
        int windowZeros = (int) Math.round(0.8 * zeros);
        int cap = WindowPruner.maxNonZerosPerKernel(layer.shape(), windowZeros);
        int empty = 0;
        for (int o = 0; o < 32; o++) {
            for (int c = 0; c < 32; c++) {
                int kept = keptInKernel(m, o, c);
                assertTrue(kept <= cap);
                empty += kept == 0 ? 1 : 0;
            }
        }
        assertTrue(empty > 0, "the CK phase removed no kernel");
        assertThrows(IllegalArgumentException.class, () -> new CombinedPruner(1.5));
    }

    @ParameterizedTest(name = "s={0}")
    @ValueSource(doubles = {0.3, 0.6, 0.9, 0.98, 0.984})
    void fcColumnsAreNeverEmpty(double sparsity) {
        PrunableLayer layer = TestLayers.random("fc", LayerShape.denseInOut(64, 10), 5);
        Mask m = new FcPruner().makeMask(layer, sparsity);
        for (int o = 0; o < 10; o++) {
            boolean any = false;
            for (int k = 0; k < 64; k++) {
                any |= m.isKept(o, k);
            }
            assertTrue(any, "output " + o + " has no weight");
        }
        assertEquals(Math.round(sparsity * 640), m.zeroCount());
    }

    @Test
    void fcRejectsMoreZerosThanOnePerOutputAllows() {
        PrunableLayer layer = TestLayers.random("fc", LayerShape.denseInOut(64, 10), 5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new FcPruner().makeMask(layer, 0.99));
        assertTrue(e.getMessage().contains("630") && e.getMessage().contains("fc"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new FcPruner(4, 0.5));
        assertTrue(e.getMessage().contains("got 4"), e.getMessage());
    }

    @Test
    void fcBlockPhaseRemovesWholeLowMagnitudeBlocks() {
        // [out=10, in=20] with one 5x5 block of tiny weights: block pruning takes it as a whole
        LayerShape s = LayerShape.dense(10, 20);
        float[] w = new float[s.size()];
        for (int r = 0; r < 10; r++) {
            for (int k = 0; k < 20; k++) {
                boolean tiny = r >= 5 && k >= 10 && k < 15;
                w[s.index(r, k)] = (tiny ? 0.001f : 1f) * (1 + (r * 20 + k) % 3);
            }
        }
        Mask m = new FcPruner(5, 1.0).makeMaskWithZeros(new PrunableLayer("fc", s, w), 25);
        for (int r = 0; r < 10; r++) {
            for (int k = 0; k < 20; k++) {
                assertEquals(!(r >= 5 && k >= 10 && k < 15), m.isKept(r, k), r + "," + k);
            }
        }
    }

    @Test
    void fcMaskDoesNotDependOnTheDenseLayout() {
        PrunableLayer inOut = TestLayers.random("fc", LayerShape.denseInOut(30, 12), 9);
        LayerShape outIn = LayerShape.dense(12, 30);
        float[] w = new float[outIn.size()];
        for (int r = 0; r < 12; r++) {
            for (int k = 0; k < 30; k++) {
                w[outIn.index(r, k)] = inOut.weights()[inOut.shape().index(r, k)];
            }
        }
        Mask a = new FcPruner().makeMask(inOut, 0.75);
        Mask b = new FcPruner().makeMask(new PrunableLayer("fc", outIn, w), 0.75);
        for (int r = 0; r < 12; r++) {
            for (int k = 0; k < 30; k++) {
                assertEquals(a.isKept(r, k), b.isKept(r, k));
            }
        }
    }

    @Test
    void deadConvChannelsRemoveTheDenseInputsTheyFeed() {
        // last conv [4, 2, 3, 3], output 4 x 2 x 3 flattened NCHW into a dense [24 -> 5]
        LayerShape conv = LayerShape.conv(4, 2, 3, 3);
        boolean[] keep = new boolean[conv.size()];
        java.util.Arrays.fill(keep, true);
        for (int k = 0; k < 18; k++) {
            keep[conv.index(2, k)] = false; // channel 2 dead
        }
        keep[conv.index(1, 4)] = false; // channel 1 only partly pruned
        Mask convMask = Mask.fromKeep(conv, keep);
        boolean[] dead = DeadChannelPruning.deadOutputChannels(convMask);
        assertTrue(dead[2]);
        assertFalse(dead[0] || dead[1] || dead[3]);
        CnnFlatten flatten = new CnnFlatten(4, 2, 3);
        assertEquals(2 * 6 + 1 * 3 + 2, flatten.inputIndex(2, 1, 2));
        LayerShape fc = LayerShape.denseInOut(24, 5);
        Mask fcMask = DeadChannelPruning.removeDeadInputs(Mask.allKept(fc), convMask, flatten);
        for (int o = 0; o < 5; o++) {
            for (int k = 0; k < 24; k++) {
                assertEquals(k / 6 != 2, fcMask.isKept(o, k), "input " + k);
            }
        }
        assertEquals(5 * 6, fcMask.zeroCount());
        float[] zeroed = DeadChannelPruning.zeroDeadInputs(new float[fc.size()], fc, convMask, flatten);
        assertEquals(fc.size(), zeroed.length);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DeadChannelPruning.removeDeadInputs(Mask.allKept(fc), convMask, new CnnFlatten(4, 3, 3)));
        assertTrue(e.getMessage().contains("24") && e.getMessage().contains("36"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new CnnFlatten(0, 1, 1));
    }
}
