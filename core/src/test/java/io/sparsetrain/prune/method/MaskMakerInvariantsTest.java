package io.sparsetrain.prune.method;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskMaker;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.TestLayers;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Per-layer exactness of every mask maker. Tolerance: magnitude, window, combined and FC block+fine
 * are exact (0 weights); CK is exact to the nearest whole kernel (|error| <= kh*kw / 2).
 */
class MaskMakerInvariantsTest {

    static final LayerShape[] SHAPES = {
        LayerShape.conv(16, 16, 3, 3),
        LayerShape.conv(7, 5, 3, 3),     // awkward sizes
        LayerShape.conv(6, 3, 5, 5),
        LayerShape.conv(32, 16, 1, 1),   // 1x1: plain magnitude
        LayerShape.dense(13, 37),
        LayerShape.denseInOut(64, 10),
    };

    static final double[] SPARSITIES = {0.0, 0.1, 0.3, 1.0 / 3, 0.5, 0.7, 0.85, 0.95};

    static List<MaskMaker> makers() {
        return List.of(new MagnitudePruner(), new WindowPruner(), new KernelPruner(), new CombinedPruner(),
                new CombinedPruner(0.5), new FcPruner(), new FcPruner(5, 1.0));
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        long seed = 100;
        for (MaskMaker m : makers()) {
            for (LayerShape s : SHAPES) {
                PrunableLayer layer = TestLayers.random("layer" + seed, s, seed++);
                for (double sp : SPARSITIES) {
                    out.add(Arguments.of(m, layer, sp));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} s={2}")
    @MethodSource("cases")
    void perLayerSparsityIsExact(MaskMaker maker, PrunableLayer layer, double sparsity) {
        int want = (int) Math.round(sparsity * layer.size());
        if (want > maker.maxZeros(layer.shape())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> maker.makeMask(layer, sparsity));
            assertTrue(e.getMessage().contains(layer.name()), e.getMessage());
            return;
        }
        Mask mask = maker.makeMask(layer, sparsity);
        assertEquals(layer.shape(), mask.shape());
        int tolerance = maker instanceof KernelPruner ? layer.shape().kernelSize() / 2 : 0;
        assertTrue(Math.abs(mask.zeroCount() - want) <= tolerance,
                maker.name() + " gave " + mask.zeroCount() + " zeros, want " + want + " +- " + tolerance);
        // deterministic
        assertEquals(mask, maker.makeMask(layer, sparsity));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("makers")
    void badSparsityIsRejectedWithLayerName(MaskMaker maker) {
        PrunableLayer layer = TestLayers.random("conv3", LayerShape.conv(4, 4, 3, 3), 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> maker.makeMask(layer, 1.2));
        assertEquals("sparsity must be in [0, 1), got 1.2 for layer conv3", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> maker.makeMask(layer, -0.1));
        assertThrows(IllegalArgumentException.class, () -> maker.makeMask(layer, Double.NaN));
        e = assertThrows(IllegalArgumentException.class, () -> maker.makeMaskWithZeros(layer, -3));
        assertTrue(e.getMessage().contains("conv3") && e.getMessage().contains("-3"), e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("makers")
    void prunesSmallWeightsBeforeLargeOnes(MaskMaker maker) {
        // a layer whose second half is 100x larger: at 50% sparsity only the small half goes
        LayerShape s = LayerShape.conv(10, 10, 1, 1);
        float[] w = new float[s.size()];
        for (int i = 0; i < w.length; i++) {
            w[i] = (i < 50 ? 0.01f : 1f) * (1 + i % 7);
        }
        Mask m = maker.makeMask(new PrunableLayer("x", s, w), 0.4);
        for (int i = 50; i < 100; i++) {
            assertTrue(m.isKept(i), maker.name() + " pruned large weight " + i);
        }
    }
}
