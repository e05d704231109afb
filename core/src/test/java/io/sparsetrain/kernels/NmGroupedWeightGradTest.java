package io.sparsetrain.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.kernels.vector.VectorGemm;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The pattern-grouped N:M weight-gradient kernel ({@code VectorGemm.nmBackwardWeightGrouped})
 * against the scalar reference: the sampled kernel's sweep ({@link NmWeightGradientTest#cases()}:
 * 1:4, 2:4, 2:8, 4:8, 1:8, 3:5, K not a multiple of M, column tails, 1 row, 1 column, masks
 * keeping fewer than N), patterns wider than the kernels (5:8, 6:7, 7:8), every block size
 * (same-pattern masks of 1..40 rows), several column tiles, few groups (rows split across tasks),
 * a conv-sized product; 1 and 2 threads, which must agree bit for bit; padding slots exactly 0 and
 * no accumulation into a previous output.
 */
class NmGroupedWeightGradTest {

    static final ScalarGemm REF = new ScalarGemm();
    static final KernelThreads TWO = new KernelThreads(2);
    static final VectorGemm VEC1 = (VectorGemm) KernelProvider.vector(new KernelThreads(1));
    static final VectorGemm VEC2 = (VectorGemm) KernelProvider.vector(TWO);

    @AfterAll
    static void close() {
        TWO.close();
    }

    /** The sampled kernel's cases plus N:M formats with N >= 5 (kernels of at most 4 positions, chunked). */
    static Stream<Arguments> cases() {
        int[][] shapes = {{1, 1, 1}, {1, 9, 17}, {3, 65, 49}, {9, 64, 127}, {11, 257, 196}, {33, 96, 785}};
        int[][] formats = {{5, 8}, {6, 7}, {7, 8}, {3, 4}};
        Stream<Arguments> wide = Stream.of(shapes).flatMap(s -> Stream.of(formats).flatMap(f -> Stream.of(false, true)
                .map(fewer -> Arguments.of(s[0], s[1], s[2], f[0], f[1], fewer))));
        return Stream.concat(NmWeightGradientTest.cases(), wide);
    }

    @ParameterizedTest(name = "{3}:{4} {0}x{1}x{2} fewer={5}")
    @MethodSource("cases")
    void matchesScalarReference(int rows, int k, int cols, int n, int m, boolean fewer) {
        SplittableRandom rnd = new SplittableRandom(rows * 1_000_003L + k * 1009L + cols * 31L + n * 7 + m + (fewer ? 1 : 0));
        NmMatrix nm = NmMatrix.fromDense(TestData.random(rnd, rows * k), TestData.nmMask(rnd, rows, k, n, m, fewer), rows, k, n, m);
        check(nm, rnd, cols);
    }

    /**
     * Every row keeps the same positions, so each pattern list holds all rows: 1..40 rows cover every
     * block size of every kernel and the balanced split of longer lists.
     */
    static Stream<Arguments> samePattern() {
        int[][] formats = {{1, 4}, {2, 4}, {3, 5}, {4, 8}, {2, 8}};
        return Stream.of(formats).flatMap(f -> IntStream.rangeClosed(1, 40)
                .mapToObj(rows -> Arguments.of(rows, f[0], f[1])));
    }

    @ParameterizedTest(name = "{1}:{2} same pattern, {0} rows")
    @MethodSource("samePattern")
    void everyBlockSize(int rows, int n, int m) {
        SplittableRandom rnd = new SplittableRandom(rows * 131L + n * 17L + m);
        int k = 3 * m + 1; // three full groups and a partial one
        int cols = 37;
        float[] mask = new float[rows * k];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g * m < k; g++) {
                int width = Math.min(m, k - g * m);
                for (int i = 0; i < Math.min(n, width); i++) {
                    mask[r * k + g * m + (i + g) % width] = 1f; // the same positions in every row
                }
            }
        }
        NmMatrix nm = NmMatrix.fromDense(TestData.random(rnd, rows * k), mask, rows, k, n, m);
        NmLayout.GroupedLayout gl = nm.layout().groupedLayout();
        assertEquals(nm.groups(), gl.lists(), "one pattern list per group");
        check(nm, rnd, cols);
    }

    @Test
    void randomMaskHasEveryPatternAndEachRowOnce() {
        SplittableRandom rnd = new SplittableRandom(5);
        int rows = 200;
        int k = 42; // 10 full 2:4 groups and one of width 2 (only pattern {0, 1} fits)
        NmMatrix nm = NmMatrix.fromDense(TestData.random(rnd, rows * k), TestData.nmMask(rnd, rows, k, 2, 4, true), rows, k, 2, 4);
        NmLayout.GroupedLayout gl = nm.layout().groupedLayout();
        int[] seen = new int[rows * nm.groups()];
        for (int g = 0; g < nm.groups(); g++) {
            int full = 0;
            for (int l = gl.groupPtr()[g]; l < gl.groupPtr()[g + 1]; l++) {
                full += gl.listKept()[l] == 2 ? 1 : 0;
                for (int i = gl.listPtr()[l]; i < gl.listPtr()[l + 1]; i++) {
                    int r = gl.rows()[i];
                    assertTrue(i == gl.listPtr()[l] || gl.rows()[i - 1] < r, "rows ascending within a list");
                    assertEquals((r * nm.groups() + g) * 2, gl.slot()[i], "slot of row " + r + " group " + g);
                    assertEquals(nm.keptCount(r, g), gl.listKept()[l], "kept count of row " + r + " group " + g);
                    for (int j = 0; j < gl.listKept()[l]; j++) {
                        assertEquals(g * 4 + nm.index(r, g, j), gl.listK()[l * 2 + j], "position " + j + " of row " + r);
                    }
                    seen[r * nm.groups() + g]++;
                }
            }
            assertEquals(g < nm.groups() - 1 ? 6 : 1, full, "full 2:4 patterns present in group " + g);
        }
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < nm.groups(); g++) {
                assertEquals(nm.keptCount(r, g) > 0 ? 1 : 0, seen[r * nm.groups() + g], "row " + r + " group " + g);
            }
        }
        check(nm, rnd, 150);
    }

    /** Several column tiles (1024 columns with AVX-512, 512 with AVX2), with a column tail. */
    @Test
    void severalColumnTiles() {
        SplittableRandom rnd = new SplittableRandom(9);
        for (int[] f : new int[][] {{2, 4}, {1, 4}, {4, 8}}) {
            int rows = 21;
            int k = 45;
            NmMatrix nm = NmMatrix.fromDense(TestData.random(rnd, rows * k), TestData.nmMask(rnd, rows, k, f[0], f[1], false),
                    rows, k, f[0], f[1]);
            check(nm, rnd, 2 * 1024 + 1024 / 2 + 13);
        }
    }

    /** One or two groups: two threads split every pattern list by rows. */
    @Test
    void fewGroupsSplitRows() {
        SplittableRandom rnd = new SplittableRandom(13);
        for (int[] s : new int[][] {{100, 4, 50}, {257, 8, 33}, {70, 3, 16}, {40, 6, 1}}) {
            NmMatrix nm = NmMatrix.fromDense(TestData.random(rnd, s[0] * s[1]), TestData.nmMask(rnd, s[0], s[1], 2, 4, true),
                    s[0], s[1], 2, 4);
            check(nm, rnd, s[2]);
        }
    }

    /** A conv-shaped product (ResNet stage 1, batch 1: 64 x 576 x 3136), 2:4 and 1:4. */
    @Test
    void convShaped() {
        SplittableRandom rnd = new SplittableRandom(17);
        int rows = 64;
        int k = 576;
        int cols = 3136;
        float[] x = TestData.random(rnd, k * cols);
        float[] dy = TestData.random(rnd, rows * cols);
        for (int[] f : new int[][] {{2, 4}, {1, 4}}) {
            NmMatrix nm = NmMatrix.fromDense(TestData.random(rnd, rows * k), TestData.nmMask(rnd, rows, k, f[0], f[1], false),
                    rows, k, f[0], f[1]);
            check(nm, rnd, dy, x, cols);
        }
    }

    /** Small integers: every partial sum is exact, so any lost, doubled or misplaced term shows. */
    @Test
    void exactOnIntegers() {
        SplittableRandom rnd = new SplittableRandom(3);
        int rows = 29;
        int k = 130;
        int cols = 150;
        float[] x = new float[k * cols];
        float[] dy = new float[rows * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = rnd.nextInt(-8, 9);
        }
        for (int i = 0; i < dy.length; i++) {
            dy[i] = rnd.nextInt(-8, 9);
        }
        for (int[] f : new int[][] {{2, 4}, {1, 4}, {4, 8}, {7, 8}}) {
            NmMatrix nm = NmMatrix.fromDense(TestData.random(rnd, rows * k), TestData.nmMask(rnd, rows, k, f[0], f[1], true),
                    rows, k, f[0], f[1]);
            float[] expected = new float[nm.slots()];
            REF.nmBackwardWeight(nm, dy, x, cols, expected);
            for (VectorGemm g : new VectorGemm[] {VEC1, VEC2}) {
                float[] dw = new float[nm.slots()];
                g.nmBackwardWeightGrouped(nm, dy, x, cols, dw);
                assertArrayEquals(expected, dw, g.name() + " " + f[0] + ":" + f[1]);
            }
        }
    }

    /**
     * The route is chosen on every call: unset, by shape (grouped for at most 128 rows and at least 768
     * columns, bit for bit the grouped kernel's result; the default route below 768 columns); the property
     * forces it on ({@code true}) or off ({@code false}).
     */
    @Test
    void routeByShapeUnlessForced() {
        String before = System.getProperty(VectorGemm.DW_GROUPED_PROPERTY);
        try {
            for (int cols : new int[] {300, 800}) {
                SplittableRandom rnd = new SplittableRandom(23 + cols);
                int rows = 37;
                int k = 130;
                NmMatrix nm = NmMatrix.fromDense(TestData.random(rnd, rows * k), TestData.nmMask(rnd, rows, k, 2, 4, false), rows, k, 2, 4);
                float[] dy = TestData.random(rnd, rows * cols);
                float[] x = TestData.random(rnd, k * cols);
                float[] grouped = new float[nm.slots()];
                VEC2.nmBackwardWeightGrouped(nm, dy, x, cols, grouped);
                float[] expected = new float[nm.slots()];
                REF.nmBackwardWeight(nm, dy, x, cols, expected);
                for (String setting : new String[] {null, "true", "false"}) {
                    if (setting == null) {
                        System.clearProperty(VectorGemm.DW_GROUPED_PROPERTY);
                    } else {
                        System.setProperty(VectorGemm.DW_GROUPED_PROPERTY, setting);
                    }
                    float[] routed = new float[nm.slots()];
                    VEC2.nmBackwardWeight(nm, dy, x, cols, routed);
                    boolean wantGrouped = setting == null ? cols >= VectorGemm.DW_GROUPED_MIN_COLS : Boolean.parseBoolean(setting);
                    assertTrue(TestData.relativeError(expected, routed, routed.length) <= 1e-4, setting + " " + cols);
                    boolean same = true;
                    for (int i = 0; i < routed.length && same; i++) {
                        same = Float.floatToIntBits(routed[i]) == Float.floatToIntBits(grouped[i]);
                    }
                    assertEquals(wantGrouped, same, "dwGrouped=" + setting + ", " + cols + " columns: grouped kernel used");
                }
            }
        } finally {
            if (before == null) {
                System.clearProperty(VectorGemm.DW_GROUPED_PROPERTY);
            } else {
                System.setProperty(VectorGemm.DW_GROUPED_PROPERTY, before);
            }
        }
    }

    @Test
    void emptyMaskGivesZeros() {
        SplittableRandom rnd = new SplittableRandom(11);
        int rows = 5;
        int k = 70;
        int cols = 40;
        NmMatrix nm = NmMatrix.fromDense(TestData.random(rnd, rows * k), new float[rows * k], rows, k, 2, 4);
        float[] dw = TestData.random(rnd, nm.slots());
        VEC2.nmBackwardWeightGrouped(nm, TestData.random(rnd, rows * cols), TestData.random(rnd, k * cols), cols, dw);
        assertArrayEquals(new float[nm.slots()], dw, "an empty 2:4 mask has no kept entries");
    }

    private static void check(NmMatrix nm, SplittableRandom rnd, int cols) {
        check(nm, rnd, TestData.random(rnd, nm.rows() * cols), TestData.random(rnd, nm.k() * cols), cols);
    }

    /**
     * Against the reference (relative error), padding slots exactly 0 after garbage, a second call
     * into the same array bit-identical, 1 and 2 threads bit-identical (each slot's sum is formed in
     * the same order whatever the task split).
     */
    private static void check(NmMatrix nm, SplittableRandom rnd, float[] dy, float[] x, int cols) {
        float[] expected = new float[nm.slots()];
        REF.nmBackwardWeight(nm, dy, x, cols, expected);
        float[] one = TestData.random(rnd, nm.slots()); // garbage: the output must be overwritten
        VEC1.nmBackwardWeightGrouped(nm, dy, x, cols, one);
        GemmKernelsTest.assertClose(expected, one, VEC1.name() + " nmBackwardWeightGrouped");
        float[] two = TestData.random(rnd, nm.slots());
        VEC2.nmBackwardWeightGrouped(nm, dy, x, cols, two);
        GemmKernelsTest.assertClose(expected, two, VEC2.name() + " nmBackwardWeightGrouped");
        assertArrayEquals(one, two, "1 and 2 threads");
        float[] again = two.clone();
        VEC2.nmBackwardWeightGrouped(nm, dy, x, cols, again);
        assertArrayEquals(two, again, "second call into the same output");
        int n = nm.format().n();
        for (int r = 0; r < nm.rows(); r++) {
            for (int g = 0; g < nm.groups(); g++) {
                for (int j = nm.keptCount(r, g); j < n; j++) {
                    int s = (r * nm.groups() + g) * n + j;
                    assertEquals(0f, two[s], "padding slot " + j + " of row " + r + " group " + g);
                    assertEquals(0f, one[s], "padding slot " + j + " of row " + r + " group " + g);
                }
            }
        }
    }
}
