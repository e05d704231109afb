package io.sparsetrain.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every Vector API kernel against the scalar reference, at awkward sizes, 1 and 2 threads. */
class GemmKernelsTest {

    static final double TOLERANCE = 1e-4;
    static final ScalarGemm REF = new ScalarGemm();
    static final KernelThreads TWO = new KernelThreads(2);
    static final GemmKernels VEC1 = KernelProvider.vector(new KernelThreads(1));
    static final GemmKernels VEC2 = KernelProvider.vector(TWO);

    @AfterAll
    static void close() {
        TWO.close();
    }

    /** rows, K, cols: not multiples of M or of the vector width, 1-row / 1-column, and large. */
    static Stream<Arguments> shapes() {
        return Stream.of(
                Arguments.of(1, 1, 1),
                Arguments.of(1, 7, 1),
                Arguments.of(1, 4, 13),
                Arguments.of(3, 5, 1),
                Arguments.of(5, 9, 17),
                Arguments.of(7, 13, 63),
                Arguments.of(8, 16, 64),
                Arguments.of(9, 37, 65),
                Arguments.of(17, 130, 33),
                Arguments.of(33, 257, 129),
                Arguments.of(64, 576, 49),
                Arguments.of(70, 301, 200),
                Arguments.of(128, 1152, 97),
                Arguments.of(256, 2304, 196));
    }

    static Stream<Arguments> nmShapes() {
        int[][] formats = {{2, 4}, {1, 4}, {2, 8}, {4, 8}, {1, 2}, {3, 5}};
        return shapes().flatMap(s -> Stream.of(formats).map(f -> {
            Object[] a = s.get();
            return Arguments.of(a[0], a[1], a[2], f[0], f[1]);
        })).filter(a -> {
            Object[] v = a.get();
            int n = (int) v[3];
            int m = (int) v[4];
            // the large shapes only for 2:4 and 1:4, to keep the suite quick
            return (int) v[0] * (int) v[1] * (int) v[2] < 3_000_000 || (m == 4);
        });
    }

    @ParameterizedTest(name = "dense {0}x{1}x{2}")
    @MethodSource("shapes")
    void denseGemm(int m, int k, int n) {
        SplittableRandom rnd = new SplittableRandom(m * 31L + k * 7L + n);
        float[] a = TestData.random(rnd, m * k);
        float[] b = TestData.random(rnd, k * n);
        float[] expected = new float[m * n];
        REF.gemm(a, b, expected, m, k, n);
        for (GemmKernels g : new GemmKernels[] {VEC1, VEC2}) {
            float[] c = new float[m * n];
            g.gemm(a, b, c, m, k, n);
            assertClose(expected, c, g.name() + " gemm");
        }
        // transposed variants: A^T stored [k, m]; B^T stored [n, k]
        float[] at = transpose(a, m, k);
        float[] bt = transpose(b, k, n);
        float[] c = new float[m * n];
        REF.gemmTransA(at, b, c, m, k, n);
        assertClose(expected, c, "scalar gemmTransA");
        REF.gemmTransB(a, bt, c, m, k, n);
        assertClose(expected, c, "scalar gemmTransB");
        VEC2.gemmTransA(at, b, c, m, k, n);
        assertClose(expected, c, "vector gemmTransA");
        VEC2.gemmTransB(a, bt, c, m, k, n);
        assertClose(expected, c, "vector gemmTransB");
    }

    @ParameterizedTest(name = "{3}:{4} {0}x{1}x{2}")
    @MethodSource("nmShapes")
    void nmKernels(int rows, int k, int cols, int n, int m) {
        SplittableRandom rnd = new SplittableRandom(rows * 131L + k * 17L + cols * 3L + n * 7 + m);
        float[] w = TestData.random(rnd, rows * k);
        float[] mask = TestData.nmMask(rnd, rows, k, n, m, rows % 2 == 1);
        NmMatrix nm = NmMatrix.fromDense(w, mask, rows, k, n, m);
        mask = nm.mask(); // differs only for empty 1:M groups, which read back as keeping index 0
        float[] dense = nm.toDense();
        float[] x = TestData.random(rnd, k * cols);
        float[] dy = TestData.random(rnd, rows * cols);

        // the scalar N:M reference against the scalar dense product of the decompressed weights
        float[] yDense = new float[rows * cols];
        REF.gemm(dense, x, yDense, rows, k, cols);
        float[] yRef = new float[rows * cols];
        REF.nmForward(nm, x, yRef, cols);
        assertClose(yDense, yRef, "scalar nmForward vs dense");

        float[] dxRef = new float[k * cols];
        REF.nmBackwardInput(nm, dy, dxRef, cols);
        float[] dxDense = new float[k * cols];
        REF.gemmTransA(dense, dy, dxDense, k, rows, cols);
        assertClose(dxDense, dxRef, "scalar nmBackwardInput vs dense");

        float[] dwRef = new float[nm.slots()];
        REF.nmBackwardWeight(nm, dy, x, cols, dwRef);
        float[] dwDense = new float[rows * k];
        REF.gemmTransB(dy, x, dwDense, rows, cols, k);
        float[] dwRefDense = new float[rows * k];
        nm.scatterSlots(dwRef, dwRefDense);
        for (int i = 0; i < rows * k; i++) {
            if (mask[i] == 0f) {
                assertEquals(0f, dwRefDense[i], "dW at a pruned position " + i);
            }
        }
        float[] dwDenseMasked = new float[rows * k];
        for (int i = 0; i < rows * k; i++) {
            dwDenseMasked[i] = mask[i] * dwDense[i];
        }
        assertClose(dwDenseMasked, dwRefDense, "scalar nmBackwardWeight vs masked dense");

        for (GemmKernels g : new GemmKernels[] {VEC1, VEC2}) {
            float[] y = new float[rows * cols];
            g.nmForward(nm, x, y, cols);
            assertClose(yRef, y, g.name() + " nmForward");
            float[] dx = new float[k * cols];
            g.nmBackwardInput(nm, dy, dx, cols);
            assertClose(dxRef, dx, g.name() + " nmBackwardInput");
            float[] dw = new float[nm.slots()];
            g.nmBackwardWeight(nm, dy, x, cols, dw);
            assertClose(dwRef, dw, g.name() + " nmBackwardWeight");
        }
    }

    @Test
    void outputsAreOverwrittenNotAccumulated() {
        SplittableRandom rnd = new SplittableRandom(5);
        int rows = 6;
        int k = 12;
        int cols = 20;
        NmMatrix nm = NmMatrix.fromDense(TestData.random(rnd, rows * k), TestData.nmMask(rnd, rows, k, 2, 4, false), rows, k, 2, 4);
        float[] x = TestData.random(rnd, k * cols);
        float[] y1 = new float[rows * cols];
        VEC2.nmForward(nm, x, y1, cols);
        float[] y2 = TestData.random(rnd, rows * cols);
        VEC2.nmForward(nm, x, y2, cols);
        assertClose(y1, y2, "second call");
    }

    @Test
    void providerPicksVectorKernels() {
        assertTrue(KernelProvider.isVectorized(), "tests run with --add-modules=jdk.incubator.vector");
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        double err = TestData.relativeError(expected, actual, expected.length);
        assertTrue(err <= TOLERANCE, what + ": relative error " + err + " > " + TOLERANCE);
    }

    static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[rows * cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = a[i * cols + j];
            }
        }
        return t;
    }
}
