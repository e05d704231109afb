package io.sparsetrain.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The compressed N:M format: round trips, serialization, rejected masks. */
class NmMatrixTest {

    @ParameterizedTest(name = "{3}:{4} {0}x{1} fewer={2}")
    @CsvSource({
        "1, 4, false, 2, 4", "1, 1, false, 1, 4", "3, 5, false, 2, 4", "3, 5, true, 2, 4", "7, 37, true, 2, 4",
        "4, 64, false, 2, 4", "5, 13, true, 1, 4", "6, 23, true, 2, 8", "6, 23, true, 4, 8", "2, 9, true, 3, 8",
        "9, 31, true, 1, 2", "3, 17, true, 3, 5", "64, 576, false, 2, 4", "33, 1153, true, 4, 8"})
    void roundTrip(int rows, int k, boolean fewer, int n, int m) throws IOException {
        SplittableRandom rnd = new SplittableRandom(rows * 1000L + k * 10L + n + m);
        float[] w = TestData.random(rnd, rows * k);
        float[] mask = TestData.nmMask(rnd, rows, k, n, m, fewer);
        NmMatrix nm = NmMatrix.fromDense(w, mask, rows, k, n, m);
        assertEquals(rows * ((k + m - 1) / m) * n, nm.slots());

        float[] dense = nm.toDense();
        for (int i = 0; i < w.length; i++) {
            assertEquals(mask[i] == 1f ? w[i] : 0f, dense[i], "decompressed entry " + i);
        }
        if (n > 1) {
            assertArrayEquals(mask, nm.mask(), "mask round trip");
        }
        // serialization round trip
        NmMatrix back = read(write(nm));
        assertEquals(nm, back);
        assertArrayEquals(dense, back.toDense());
        assertArrayEquals(nm.mask(), back.mask());
        // withValues keeps the mask, takes the new values
        float[] w2 = TestData.random(rnd, rows * k);
        NmMatrix updated = nm.withValues(w2);
        float[] d2 = updated.toDense();
        float[] effectiveMask = nm.mask();
        for (int i = 0; i < w.length; i++) {
            assertEquals(effectiveMask[i] == 1f ? w2[i] : 0f, d2[i], "refreshed entry " + i);
        }
        assertEquals(updated, NmMatrix.fromDense(w2, effectiveMask, rows, k, n, m));
    }

    /**
     * gatherSlots and scatterSlots (per-group decoding, a fast path for N = 2) against the per-slot accessors
     * {@link NmMatrix#index} and {@link NmMatrix#keptCount}: groups keeping fewer than N (one of them a single
     * position), an empty group, a padded last group.
     */
    @ParameterizedTest(name = "{0}:{1}")
    @CsvSource({"2, 4", "2, 8", "1, 4", "3, 8", "4, 8", "3, 5", "1, 2"})
    void gatherSlotsInvertsScatterSlots(int n, int m) {
        int rows = 7;
        int k = 5 * m + m / 2 + 1; // K not a multiple of M: a padded last group
        SplittableRandom rnd = new SplittableRandom(8L * n + m);
        float[] mask = TestData.nmMask(rnd, rows, k, n, m, true);
        java.util.Arrays.fill(mask, 0, m, 0f); // an empty group
        for (int j = 0; j < n; j++) { // a full group next to it
            mask[m + j] = 1f;
        }
        java.util.Arrays.fill(mask, m + n, 2 * m, 0f);
        java.util.Arrays.fill(mask, 2 * m, 3 * m, 0f); // a group keeping one
        mask[2 * m + 1] = 1f;
        NmMatrix nm = NmMatrix.fromDense(TestData.random(rnd, rows * k), mask, rows, k, n, m);
        float[] slots = TestData.random(rnd, nm.slots());
        float[] dense = new float[rows * k];
        java.util.Arrays.fill(dense, Float.NaN); // overwritten everywhere
        nm.scatterSlots(slots, dense);
        int fewer = 0;
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < nm.groups(); g++) {
                int kept = nm.keptCount(r, g);
                fewer += kept < n ? 1 : 0;
                for (int c = g * m; c < Math.min(k, g * m + m); c++) {
                    float expected = 0f;
                    for (int j = 0; j < kept; j++) {
                        if (g * m + nm.index(r, g, j) == c) {
                            expected = slots[(r * nm.groups() + g) * n + j];
                        }
                    }
                    assertEquals(expected, dense[r * k + c], "scatter: row " + r + " column " + c);
                }
            }
        }
        assertTrue(n == 1 || fewer > 1, "the mask has groups keeping fewer than N"); // 1:M: an empty group reads as index 0
        float[] back = new float[nm.slots()];
        java.util.Arrays.fill(back, Float.NaN);
        nm.gatherSlots(dense, back);
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < nm.groups(); g++) {
                for (int j = 0; j < n; j++) {
                    int slot = (r * nm.groups() + g) * n + j;
                    assertEquals(j < nm.keptCount(r, g) ? slots[slot] : 0f, back[slot], "gather: row " + r + " group " + g + " slot " + j);
                }
            }
        }
        float[] again = new float[rows * k];
        nm.scatterSlots(back, again);
        assertArrayEquals(dense, again);
    }

    @Test
    void twoFourMetadataIsFourBitsPerGroup() throws IOException {
        int rows = 16;
        int k = 64; // 16 groups per row
        SplittableRandom rnd = new SplittableRandom(3);
        NmMatrix nm = NmMatrix.fromDense(TestData.random(rnd, rows * k), TestData.nmMask(rnd, rows, k, 2, 4, false), rows, k, 2, 4);
        byte[] bytes = write(nm);
        int groups = rows * 16;
        int header = 7 * 4 + 4;
        assertEquals(header + groups * 2 * 4 + groups * 4 / 8, bytes.length);
    }

    @Test
    void rejectsMaskKeepingTooMany() {
        float[] w = new float[2 * 8];
        float[] mask = new float[2 * 8];
        mask[8 + 4] = 1;
        mask[8 + 5] = 1;
        mask[8 + 7] = 1;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NmMatrix.fromDense(w, mask, 2, 8, 2, 4));
        assertEquals("mask row 1 group 1 keeps 3 of 4, expected at most 2 (2:4)", e.getMessage());
    }

    @Test
    void rejectsNonBinaryMaskAndBadShapes() {
        float[] mask = new float[8];
        mask[3] = 0.5f;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NmMatrix.fromDense(new float[8], mask, 1, 8, 2, 4));
        assertTrue(e.getMessage().contains("row 0 column 3 is 0.5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NmMatrix.fromDense(new float[8], new float[8], 1, 8, 4, 4));
        assertEquals("N:M mask needs 1 <= N < M, got N=4, M=4", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NmMatrix.fromDense(new float[8], new float[8], 1, 8, 2, 16));
        assertTrue(e.getMessage().contains("M <= 8"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NmMatrix.fromDense(new float[7], new float[8], 1, 8, 2, 4));
        assertTrue(e.getMessage().startsWith("w has 7 entries"), e.getMessage());
    }

    @Test
    void readRejectsUnknownVersionAndMagic() throws IOException {
        SplittableRandom rnd = new SplittableRandom(4);
        NmMatrix nm = NmMatrix.fromDense(TestData.random(rnd, 8), TestData.nmMask(rnd, 1, 8, 2, 4, false), 1, 8, 2, 4);
        byte[] bytes = write(nm);
        ByteBuffer.wrap(bytes).putInt(4, 99);
        IOException e = assertThrows(IOException.class, () -> read(bytes));
        assertEquals("unsupported N:M matrix format version 99, this build reads version 1", e.getMessage());
        ByteBuffer.wrap(bytes).putInt(0, 0x12345678);
        e = assertThrows(IOException.class, () -> read(bytes));
        assertTrue(e.getMessage().startsWith("not a compressed N:M matrix"), e.getMessage());
    }

    @Test
    void layoutListsRealSlotsOnly() {
        // row 0: group 0 keeps {1, 3}, group 1 keeps {2} only; K = 6 (last group padded)
        float[] w = {0, 1, 0, 3, 0, 5};
        float[] mask = {0, 1, 0, 1, 0, 1};
        NmMatrix nm = NmMatrix.fromDense(w, mask, 1, 6, 2, 4);
        assertEquals(2, nm.keptCount(0, 0));
        assertEquals(1, nm.keptCount(0, 1));
        NmLayout l = nm.layout();
        assertEquals(3, l.nnz());
        assertArrayEquals(new int[] {1, 3, 5}, l.kIndex());
        assertArrayEquals(new float[] {1, 3, 5}, l.rowValues());
        assertArrayEquals(new int[] {0, 0, 1, 1, 2, 2, 3}, l.colPtr());
    }

    static byte[] write(NmMatrix nm) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bos)) {
            nm.writeTo(out);
        }
        return bos.toByteArray();
    }

    static NmMatrix read(byte[] bytes) throws IOException {
        return NmMatrix.readFrom(new DataInputStream(new ByteArrayInputStream(bytes)));
    }
}
