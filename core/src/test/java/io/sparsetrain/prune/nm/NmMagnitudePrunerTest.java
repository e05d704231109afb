package io.sparsetrain.prune.nm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.TestLayers;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class NmMagnitudePrunerTest {

    static Stream<Arguments> cases() {
        int[][] nms = {{2, 4}, {1, 4}, {4, 8}, {3, 7}};
        LayerShape[] shapes = {
            LayerShape.conv(16, 16, 3, 3),  // K = 144
            LayerShape.conv(5, 3, 3, 3),    // K = 27, not a multiple of M
            LayerShape.conv(8, 6, 1, 1),
            LayerShape.dense(7, 13),
            LayerShape.denseInOut(13, 7),
        };
        List<Arguments> out = new ArrayList<>();
        long seed = 40;
        for (int[] nm : nms) {
            for (LayerShape s : shapes) {
                out.add(Arguments.of(nm[0], nm[1], TestLayers.random("l" + seed, s, seed++)));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}:{1} {2}")
    @MethodSource("cases")
    void everyGroupKeepsItsNLargest(int n, int m, PrunableLayer layer) {
        NmMagnitudePruner p = new NmMagnitudePruner(n, m);
        Mask mask = p.makeMask(layer);
        LayerShape s = layer.shape();
        int k = s.k();
        int[] identity = new int[k];
        for (int q = 0; q < k; q++) {
            identity[q] = q;
        }
        assertGroupsKeepTheirNLargest(layer, mask, n, m, identity);
        assertTrue(NmMagnitudePruner.satisfiesNm(mask, n, m));
        assertEquals(p.fixedZeros(s).getAsInt(), mask.zeroCount());
        if (k % m == 0) {
            assertEquals(1.0 - (double) n / m, mask.sparsity(), 1e-12);
        }
        // through the MaskMaker interface the requested sparsity is irrelevant: the count is structural
        assertEquals(mask, p.makeMask(layer, 0.1));
    }

    @Test
    void rejectsBadNm() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new NmMagnitudePruner(4, 4));
        assertEquals("N:M mask needs 1 <= N < M, got N=4, M=4", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new NmMagnitudePruner(0, 4));
        PrunableLayer l = TestLayers.random("c", LayerShape.conv(4, 4, 1, 1), 1);
        e = assertThrows(IllegalArgumentException.class, () -> new NmMagnitudePruner(2, 4).makeMaskWithZeros(l, 3));
        assertTrue(e.getMessage().contains("8") && e.getMessage().contains("c"), e.getMessage());
    }

    @ParameterizedTest(name = "{0}:{1} {2}")
    @MethodSource("cases")
    void channelWiseGroupsKeepTheNLargestOfMChannelsAtEachTap(int n, int m, PrunableLayer layer) {
        NmMagnitudePruner p = new NmMagnitudePruner(n, m, NmGroupOrder.CHANNEL);
        Mask mask = p.makeMask(layer);
        LayerShape s = layer.shape();
        int cin = s.inputChannels();
        int ks = s.kernelSize();
        int k = s.k();
        // positions in (tap, channel) order, written out here rather than through NmGroupOrder
        int[] original = new int[k];
        for (int tap = 0, p0 = 0; tap < ks; tap++) {
            for (int c = 0; c < cin; c++) {
                original[p0++] = c * ks + tap;
            }
        }
        assertGroupsKeepTheirNLargest(layer, mask, n, m, original);
        assertTrue(NmMagnitudePruner.satisfiesNm(mask, n, m, NmGroupOrder.CHANNEL));
        assertEquals(p.fixedZeros(s).getAsInt(), mask.zeroCount());
        if (NmGroupOrder.CHANNEL.permutes(s)) {
            assertFalse(mask.equals(new NmMagnitudePruner(n, m).makeMask(layer)), "3x3 kernels group differently");
        } else {
            assertEquals(new NmMagnitudePruner(n, m).makeMask(layer), mask, "1x1 and dense: the same groups");
        }
        for (int q = 0; q < k; q++) {
            assertEquals(q, NmGroupOrder.CHANNEL.position(s, NmGroupOrder.CHANNEL.originalK(s, q)));
        }
    }

    /** Every group of M consecutive positions (position q holds K index original[q]) keeps its N largest |w|. */
    private static void assertGroupsKeepTheirNLargest(PrunableLayer layer, Mask mask, int n, int m, int[] original) {
        LayerShape s = layer.shape();
        int k = s.k();
        for (int r = 0; r < s.outputs(); r++) {
            for (int start = 0; start < k; start += m) {
                int len = Math.min(k, start + m) - start;
                int kept = 0;
                float minKept = Float.MAX_VALUE;
                float maxPruned = 0;
                for (int q = start; q < start + len; q++) {
                    float a = Math.abs(layer.weights()[s.index(r, original[q])]);
                    if (mask.isKept(r, original[q])) {
                        kept++;
                        minKept = Math.min(minKept, a);
                    } else {
                        maxPruned = Math.max(maxPruned, a);
                    }
                }
                assertEquals(Math.min(n, len), kept, "row " + r + " group at " + start);
                assertTrue(maxPruned <= minKept);
            }
        }
    }

    @Test
    void groupOrderParsesItsLabels() {
        assertEquals(NmGroupOrder.CHANNEL, NmGroupOrder.parse("Channel"));
        assertEquals(NmGroupOrder.KERNEL, NmGroupOrder.parse("kernel"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NmGroupOrder.parse("rows"));
        assertEquals("unknown N:M group order 'rows': expected kernel or channel", e.getMessage());
    }

    @Test
    void detectsAViolation() {
        LayerShape s = LayerShape.dense(1, 8);
        Mask m = Mask.fromFloats(s, new float[] {1, 1, 1, 0, 1, 1, 0, 0});
        assertFalse(NmMagnitudePruner.satisfiesNm(m, 2, 4));
        assertTrue(NmMagnitudePruner.satisfiesNm(m, 3, 4));
    }
}
