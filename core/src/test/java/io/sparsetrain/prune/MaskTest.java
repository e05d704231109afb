package io.sparsetrain.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MaskTest {

    @Test
    void denseLayoutsMapTheSameGemmElement() {
        LayerShape outIn = LayerShape.dense(10, 64);
        LayerShape inOut = LayerShape.denseInOut(64, 10);
        assertEquals(0, outIn.outputAxis());
        assertEquals(1, inOut.outputAxis());
        assertEquals(64, inOut.k());
        assertEquals(10, inOut.outputs());
        assertEquals(3 * 64 + 7, outIn.index(3, 7));
        assertEquals(7 * 10 + 3, inOut.index(3, 7));
        assertArrayEquals(new int[] {64, 10}, inOut.dims());
        assertTrue(outIn.sameView(inOut));
    }

    @Test
    void convKAxisRunsOverChannelThenKernel() {
        LayerShape s = LayerShape.conv(4, 3, 3, 3);
        assertEquals(27, s.k());
        assertEquals(9, s.kernelSize());
        assertEquals(12, s.kernelCount());
        assertEquals(2 * 27 + 1 * 9 + 2 * 3 + 1, s.index(2, 1 * 9 + 2 * 3 + 1));
    }

    @Test
    void roundTripsThroughFloatsAndWords() {
        LayerShape s = LayerShape.conv(3, 5, 3, 3); // 135 weights: partial last word
        boolean[] keep = new boolean[s.size()];
        for (int i = 0; i < keep.length; i++) {
            keep[i] = i % 3 != 0;
        }
        Mask m = Mask.fromKeep(s, keep);
        assertEquals(45, m.zeroCount());
        assertEquals(m, Mask.fromFloats(s, m.toFloatArray()));
        assertEquals(m, Mask.fromWords(s, m.toWords()));
        assertArrayEquals(keep, m.toKeepArray());
        float[] w = new float[s.size()];
        java.util.Arrays.fill(w, 2f);
        m.applyTo(w);
        assertEquals(0f, w[0]);
        assertEquals(2f, w[1]);
        assertEquals(s.size(), Mask.allKept(s).keptCount());
        assertFalse(m.isKept(0));
    }

    @Test
    void rejectsBadInput() {
        LayerShape s = LayerShape.dense(2, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Mask.fromFloats(s, new float[] {0, 1, 0.5f, 1, 1, 1}));
        assertTrue(e.getMessage().contains("0.5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new PrunableLayer("fc", s, new float[5]));
        assertTrue(e.getMessage().contains("fc") && e.getMessage().contains("5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new PrunableLayer("fc", s, new float[] {0, 0, Float.NaN, 0, 0, 0}));
        assertTrue(e.getMessage().contains("NaN"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LayerShape.conv(0, 3, 3, 3));
        assertTrue(e.getMessage().contains("outputs must be >= 1, got 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Mask.fromWords(s, new long[] {1L << 6}));
        assertTrue(e.getMessage().contains("past"), e.getMessage());
    }
}
