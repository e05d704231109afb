package io.sparsetrain.prune.global;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskMaker;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.TestLayers;
import io.sparsetrain.prune.method.CombinedPruner;
import io.sparsetrain.prune.method.FcPruner;
import io.sparsetrain.prune.method.KernelPruner;
import io.sparsetrain.prune.method.MagnitudePruner;
import io.sparsetrain.prune.method.WindowPruner;
import io.sparsetrain.prune.nm.NmMagnitudePruner;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Global exactness (within 0.1 pp, usually to one weight) on a ResNet-20 layer list, every method. */
class GlobalSparsityControllerTest {
    static final List<PrunableLayer> RESNET = TestLayers.resnet20();

    static List<MaskMaker> convMethods() {
        return List.of(new MagnitudePruner(), new WindowPruner(), new KernelPruner(), new CombinedPruner());
    }

    static Stream<Arguments> methodsAndTargets() {
        List<Arguments> out = new ArrayList<>();
        for (MaskMaker m : convMethods()) {
            for (double t : new double[] {0.0, 0.2, 0.5, 0.7, 0.8, 0.9, 0.95}) {
                out.add(Arguments.of(m, t));
            }
        }
        return out.stream();
    }

    static void assertGlobal(GlobalPruningResult r, double target, long maxErrorWeights) {
        long zeros = 0;
        long weights = 0;
        for (LayerSparsity l : r.layers()) {
            if (l.role() == LayerSparsity.Role.EXCLUDED) {
                assertFalse(r.masks().contains(l.name()));
                continue;
            }
            Mask m = r.masks().get(l.name());
            assertEquals(l.zeros(), m.zeroCount());
            zeros += m.zeroCount();
            weights += m.size();
        }
        assertEquals(r.prunableWeights(), weights);
        assertEquals(r.prunableZeros(), zeros);
        double achieved = zeros / (double) weights;
        assertTrue(Math.abs(achieved - target) <= GlobalSparsityController.TOLERANCE,
                "global " + achieved + " vs target " + target + "\n" + r.toTable());
        assertTrue(Math.abs(zeros - Math.round(target * weights)) <= maxErrorWeights,
                "off by " + (zeros - Math.round(target * weights)) + " weights\n" + r.toTable());
    }

    @ParameterizedTest(name = "{0} target {1}")
    @MethodSource("methodsAndTargets")
    void convMethodsHitTheGlobalTargetExactly(MaskMaker method, double target) {
        GlobalSparsityController c = GlobalSparsityController.builder().convMethod(method).build();
        GlobalPruningResult r = c.computeMasks(RESNET, target);
        assertGlobal(r, target, 0); // 1x1 downsample convs give one-weight units even under CK
        assertEquals(LayerSparsity.Role.EXCLUDED, r.layer("conv1").role());
        assertEquals(LayerSparsity.Role.EXCLUDED, r.layer("fc").role());
        // uniform allocation: every free 3x3 layer sits near the same sparsity
        for (LayerSparsity l : r.layers()) {
            if (l.role() == LayerSparsity.Role.ALLOCATED) {
                assertEquals(target, l.sparsity(), 0.02, l.toString());
            }
        }
    }

    @ParameterizedTest(name = "{0} target {1}")
    @MethodSource("methodsAndTargets")
    void classifierIncludedWithBlockPruning(MaskMaker method, double target) {
        GlobalSparsityController c = GlobalSparsityController.builder().convMethod(method)
                .denseMethod(new FcPruner()).include("fc").build();
        GlobalPruningResult r = c.computeMasks(RESNET, target);
        assertGlobal(r, target, 0);
        assertEquals(LayerSparsity.Role.ALLOCATED, r.layer("fc").role());
        assertEquals("fc-block", r.layer("fc").method());
    }

    @ParameterizedTest(name = "target {0}")
    @org.junit.jupiter.params.provider.ValueSource(doubles = {0.3, 0.6, 0.9})
    void ckWithWholeKernelUnitsOnlyStaysWithinHalfAKernel(double target) {
        GlobalSparsityController c = GlobalSparsityController.builder().convMethod(new KernelPruner()).build();
        GlobalPruningResult r = c.computeMasks(TestLayers.resnet20WithoutPointwise(), target);
        assertGlobal(r, target, 4);
        for (String name : r.masks().names()) {
            Mask m = r.masks().get(name);
            for (int o = 0; o < m.shape().outputs(); o++) {
                for (int ch = 0; ch < m.shape().inputChannels(); ch++) {
                    int kept = 0;
                    for (int e = 0; e < 9; e++) {
                        kept += m.isKept(o, ch * 9 + e) ? 1 : 0;
                    }
                    assertTrue(kept == 0 || kept == 9, name + " kernel " + o + "," + ch);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} target {1}")
    @MethodSource("methodsAndTargets")
    void nmLayersKeepTheirFixedSparsityAndTheRestIsDistributed(MaskMaker method, double target) {
        GlobalSparsityController.Builder b = GlobalSparsityController.builder().convMethod(method);
        List<String> nmLayers = new ArrayList<>();
        for (PrunableLayer l : RESNET) {
            if (l.name().startsWith("s3b3") || l.name().endsWith("_down")) {
                b.layerMethod(l.name(), new NmMagnitudePruner(2, 4));
                nmLayers.add(l.name());
            }
        }
        GlobalSparsityController c = b.build();
        long nmWeights = 0;
        long prunable = 0;
        long maxFree = 0;
        for (PrunableLayer l : RESNET) {
            if (!l.name().equals("conv1") && !l.name().equals("fc")) {
                prunable += l.size();
                if (nmLayers.contains(l.name())) {
                    nmWeights += l.size();
                } else {
                    maxFree += method.maxZeros(l.shape());
                }
            }
        }
        double forced = 0.5 * nmWeights / prunable;
        if (Math.round(target * prunable) > maxFree + nmWeights / 2) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> c.computeMasks(RESNET, target));
            assertTrue(e.getMessage().contains("at most " + (maxFree + nmWeights / 2)), e.getMessage());
            return;
        }
        if (target < forced) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> c.computeMasks(RESNET, target));
            assertTrue(e.getMessage().contains("below") && e.getMessage().contains(String.valueOf(target)),
                    e.getMessage());
            return;
        }
        GlobalPruningResult r = c.computeMasks(RESNET, target);
        assertGlobal(r, target, method instanceof KernelPruner ? 4 : 0);
        for (String name : nmLayers) {
            assertEquals(LayerSparsity.Role.FIXED, r.layer(name).role());
            assertEquals(0.5, r.layer(name).sparsity(), 1e-12);
            assertTrue(NmMagnitudePruner.satisfiesNm(r.masks().get(name), 2, 4));
        }
    }

    @Test
    void allocationWeightsShiftSparsityBetweenLayers() {
        GlobalSparsityController c = GlobalSparsityController.builder().allocationWeight("s3b3_conv2", 0.5).build();
        GlobalPruningResult r = c.computeMasks(RESNET, 0.6);
        assertGlobal(r, 0.6, 0);
        assertTrue(r.layer("s3b3_conv2").sparsity() < r.layer("s3b3_conv1").sparsity() - 0.2);
    }

    @Test
    void sameInputGivesTheSameChecksum() {
        GlobalSparsityController c = GlobalSparsityController.builder().convMethod(new CombinedPruner()).build();
        MaskSet a = c.computeMasks(TestLayers.resnet20(), 0.75).masks();
        MaskSet b = c.computeMasks(TestLayers.resnet20(), 0.75).masks();
        assertEquals(a.checksum(), b.checksum());
    }

    @Test
    void reportAndToString() {
        GlobalSparsityController c = GlobalSparsityController.builder().convMethod(new WindowPruner()).build();
        GlobalPruningResult r = c.computeMasks(RESNET, 0.5);
        String table = r.toTable();
        for (String part : new String[] {"s2b1_down", "excluded", "allocated", "window", "global:", "checksum"}) {
            assertTrue(table.contains(part), table);
        }
        assertEquals(RESNET.size() + 2, table.split("\n").length, table);
        String conf = c.toString();
        assertTrue(conf.contains("excludeFirstConv=true") && conf.contains("WindowPruner"), conf);
    }

    @Test
    void badArgumentsAreRejectedWithValues() {
        GlobalSparsityController c = GlobalSparsityController.builder().build();
        assertEquals("targetSparsity must be in [0, 1), got 1.2",
                assertThrows(IllegalArgumentException.class, () -> c.computeMasks(RESNET, 1.2)).getMessage());
        PrunableLayer a = TestLayers.random("a", LayerShape.conv(4, 4, 3, 3), 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> c.computeMasks(List.of(a, a), 0.5));
        assertTrue(e.getMessage().contains("duplicate layer name a"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> c.computeMasks(List.of(a), 0.5));
        assertTrue(e.getMessage().contains("no prunable layers"), e.getMessage());
        GlobalSparsityController fcOnly = GlobalSparsityController.builder().excludeClassifier(false).build();
        PrunableLayer fc = TestLayers.random("fc", LayerShape.denseInOut(64, 10), 2);
        e = assertThrows(IllegalArgumentException.class, () -> fcOnly.computeMasks(List.of(fc), 0.995));
        assertTrue(e.getMessage().contains("at most 630 of 640"), e.getMessage());
        GlobalSparsityController unknown = GlobalSparsityController.builder()
                .layerMethod("nope", new MagnitudePruner()).build();
        e = assertThrows(IllegalArgumentException.class, () -> unknown.computeMasks(RESNET, 0.5));
        assertTrue(e.getMessage().contains("nope"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> GlobalSparsityController.builder().allocationWeight("x", -1));
        assertTrue(e.getMessage().contains("-1.0") && e.getMessage().contains("x"), e.getMessage());
    }
}
