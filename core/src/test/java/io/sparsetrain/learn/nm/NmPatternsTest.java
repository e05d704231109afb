package io.sparsetrain.learn.nm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NmPatternsTest {

    @Test
    void twoFourOrderIsLexicographic() {
        NmPatterns p = NmPatterns.of(2, 4);
        assertEquals(6, p.count());
        int[][] expected = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};
        for (int i = 0; i < 6; i++) {
            assertArrayEquals(expected[i], p.keptPositions(i));
            assertEquals(i, p.indexOf(expected[i]));
        }
        int[][] mat = p.matrix();
        assertArrayEquals(new int[] {1, 1, 1, 0, 0, 0}, mat[0]);
        assertArrayEquals(new int[] {0, 0, 1, 0, 1, 1}, mat[3]);
        assertEquals(4, p.indexOf(new boolean[] {false, true, false, true}));
        assertEquals(4, p.indexOf(3, 1));
    }

    @Test
    void everyNmUpToEightHasAllDistinctPatterns() {
        for (int m = 2; m <= NmPatterns.MAX_M; m++) {
            for (int n = 1; n < m; n++) {
                NmPatterns p = NmPatterns.of(n, m);
                assertEquals(NmPatterns.binomial(m, n), p.count());
                Set<Integer> seen = new HashSet<>();
                int[][] mat = p.matrix();
                for (int q = 0; q < p.count(); q++) {
                    assertTrue(seen.add(p.bits(q)), "duplicate pattern");
                    assertEquals(n, Integer.bitCount(p.bits(q)));
                    int col = 0;
                    for (int j = 0; j < m; j++) {
                        col += mat[j][q];
                    }
                    assertEquals(n, col);
                    assertEquals(q, p.indexOf(p.keptPositions(q)));
                    if (q > 0) {
                        assertTrue(java.util.Arrays.compare(p.keptPositions(q - 1), p.keptPositions(q)) < 0);
                    }
                }
            }
        }
        assertEquals(70, NmPatterns.of(4, 8).count());
    }

    @Test
    void rejectsBadNm() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NmPatterns.of(4, 4));
        assertTrue(e.getMessage().contains("N=4, M=4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NmPatterns.of(2, 9));
        assertThrows(IllegalArgumentException.class, () -> NmPatterns.of(2, 4).indexOf(0, 0));
        assertThrows(IllegalArgumentException.class, () -> NmPatterns.of(2, 4).indexOf(0, 1, 2));
    }
}
