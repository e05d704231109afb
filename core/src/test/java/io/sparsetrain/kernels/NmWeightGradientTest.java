package io.sparsetrain.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.kernels.vector.VectorGemm;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The sampled N:M weight-gradient kernel (packed slabs, lane buffer, reduction tree) against the
 * scalar reference: every panel width (cols 1..8 vectors and several panels, with column tails),
 * K not a multiple of M or of the reduction block, 1 row, 1 column, rows split into lane-buffer
 * chunks, formats 1:4, 2:4, 2:8, 4:8, 1:8, 3:5, masks keeping fewer than N (and nothing).
 */
class NmWeightGradientTest {

    static final ScalarGemm REF = new ScalarGemm();
    static final KernelThreads TWO = new KernelThreads(2);
    static final VectorGemm VEC1 = (VectorGemm) KernelProvider.vector(new KernelThreads(1));
    static final VectorGemm VEC2 = (VectorGemm) KernelProvider.vector(TWO);

    @AfterAll
    static void close() {
        TWO.close();
    }

    static Stream<Arguments> cases() {
        int[][] shapes = { // rows, K, cols
            {1, 1, 1}, {1, 4, 1}, {1, 9, 16}, {2, 7, 17}, {1, 64, 33}, {3, 65, 49}, {5, 63, 64}, {4, 130, 80},
            {7, 100, 96}, {6, 129, 112}, {9, 64, 127}, {3, 200, 128}, {2, 70, 129}, {11, 257, 196},
            {1, 300, 255}, {17, 130, 300}, {33, 96, 785}, {300, 130, 300}};
        int[][] formats = {{2, 4}, {1, 4}, {2, 8}, {4, 8}, {1, 8}, {3, 5}};
        return Stream.of(shapes).flatMap(s -> Stream.of(formats).flatMap(f -> Stream.of(false, true)
                .map(fewer -> Arguments.of(s[0], s[1], s[2], f[0], f[1], fewer))));
    }

    @ParameterizedTest(name = "{3}:{4} {0}x{1}x{2} fewer={5}")
    @MethodSource("cases")
    void matchesScalarReference(int rows, int k, int cols, int n, int m, boolean fewer) {
        SplittableRandom rnd = new SplittableRandom(rows * 1_000_003L + k * 1009L + cols * 31L + n * 7 + m + (fewer ? 1 : 0));
        NmMatrix nm = NmMatrix.fromDense(TestData.random(rnd, rows * k), TestData.nmMask(rnd, rows, k, n, m, fewer), rows, k, n, m);
        float[] x = TestData.random(rnd, k * cols);
        float[] dy = TestData.random(rnd, rows * cols);
        float[] expected = new float[nm.slots()];
        REF.nmBackwardWeight(nm, dy, x, cols, expected);
        for (VectorGemm g : new VectorGemm[] {VEC1, VEC2}) {
            float[] dw = TestData.random(rnd, nm.slots()); // garbage: the output must be overwritten
            g.nmBackwardWeightSampled(nm, dy, x, cols, dw);
            GemmKernelsTest.assertClose(expected, dw, g.name() + " nmBackwardWeightSampled");
            float[] routed = TestData.random(rnd, nm.slots());
            g.nmBackwardWeight(nm, dy, x, cols, routed);
            GemmKernelsTest.assertClose(expected, routed, g.name() + " nmBackwardWeight");
            float[] viaDense = TestData.random(rnd, nm.slots());
            g.nmBackwardWeightViaDense(nm, dy, x, cols, viaDense);
            GemmKernelsTest.assertClose(expected, viaDense, g.name() + " nmBackwardWeightViaDense");
        }
    }

    @Test
    void padSlotsAndEmptyMasksGiveZeros() {
        SplittableRandom rnd = new SplittableRandom(11);
        int rows = 5;
        int k = 70;
        int cols = 40;
        NmMatrix nm = NmMatrix.fromDense(TestData.random(rnd, rows * k), new float[rows * k], rows, k, 2, 4);
        float[] dw = TestData.random(rnd, nm.slots());
        VEC2.nmBackwardWeightSampled(nm, TestData.random(rnd, rows * cols), TestData.random(rnd, k * cols), cols, dw);
        float[] zeros = new float[nm.slots()];
        assertTrue(Arrays.equals(zeros, dw), "an empty 2:4 mask has no kept entries");
    }

    @Test
    void largeValuesStayExactWhereTheReferenceIsExact() {
        // integers: every partial sum is exact in float, so the tree's reassociation must give the same bits
        SplittableRandom rnd = new SplittableRandom(3);
        int rows = 9;
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
        NmMatrix nm = NmMatrix.fromDense(TestData.random(rnd, rows * k), TestData.nmMask(rnd, rows, k, 2, 4, true), rows, k, 2, 4);
        float[] expected = new float[nm.slots()];
        REF.nmBackwardWeight(nm, dy, x, cols, expected);
        float[] dw = new float[nm.slots()];
        VEC2.nmBackwardWeightSampled(nm, dy, x, cols, dw);
        for (int i = 0; i < dw.length; i++) {
            assertEquals(expected[i], dw[i], "slot " + i);
        }
    }

    @Test
    void weightGradLayoutPadsEveryRowBlockToWholeGroups() {
        SplittableRandom rnd = new SplittableRandom(7);
        int rows = 6;
        int k = 150;
        NmMatrix full = NmMatrix.fromDense(TestData.random(rnd, rows * k), TestData.nmMask(rnd, rows, k, 2, 4, false), rows, k, 2, 4);
        NmLayout.WeightGradLayout l = full.layout().weightGradLayout(64, 16);
        assertEquals(3, l.blocks());
        int real = 0;
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < l.blocks(); b++) {
                int n = l.ptr()[r * l.blocks() + b + 1] - l.ptr()[r * l.blocks() + b];
                assertEquals(0, n % 16, "row " + r + " block " + b);
                for (int e = l.ptr()[r * l.blocks() + b]; e < l.ptr()[r * l.blocks() + b + 1]; e++) {
                    assertTrue(l.idx()[e] >= b * 64 && l.idx()[e] < Math.min(k, b * 64 + 64), "entry in its block");
                    real += l.slot()[e] >= 0 ? 1 : 0;
                }
            }
        }
        assertEquals(full.layout().nnz(), real);
        assertFalse(l.identity(), "K = 150 leaves a partial last block");
        NmMatrix exact = NmMatrix.fromDense(TestData.random(rnd, rows * 128), TestData.nmMask(rnd, rows, 128, 2, 4, false), rows, 128, 2, 4);
        assertTrue(exact.layout().weightGradLayout(64, 16).identity(), "full 2:4 mask, K a multiple of the block");
    }
}
