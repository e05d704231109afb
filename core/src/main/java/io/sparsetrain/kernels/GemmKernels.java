package io.sparsetrain.kernels;

/**
 * The float32 matrix products the engine is built on, dense and N:M. All arrays are row-major;
 * outputs are overwritten (not accumulated). Implementations: {@link ScalarGemm} (plain loops, the
 * reference) and {@code io.sparsetrain.kernels.vector.VectorGemm} (Vector API, multi-threaded);
 * {@link KernelProvider#get()} picks one once at start-up.
 *
 * <p>Shapes: W [rows, K], X [K, cols], Y [rows, cols].
 */
public interface GemmKernels {

    /** Short name for logs and benchmark tables. */
    String name();

    /** C [m, n] = A [m, k] * B [k, n]. */
    void gemm(float[] a, float[] b, float[] c, int m, int k, int n);

    /** C [m, n] = A^T * B with A stored as [k, m] (the dense input gradient W^T * dY). */
    void gemmTransA(float[] a, float[] b, float[] c, int m, int k, int n);

    /** C [m, n] = A * B^T with B stored as [n, k] (the dense weight gradient dY * X^T). */
    void gemmTransB(float[] a, float[] b, float[] c, int m, int k, int n);

    /** Forward: Y [rows, cols] = W_nm * X, X [K, cols]. */
    void nmForward(NmMatrix w, float[] x, float[] y, int cols);

    /** Input gradient: dX [K, cols] = W_nm^T * dY, dY [rows, cols]. */
    void nmBackwardInput(NmMatrix w, float[] dy, float[] dx, int cols);

    /**
     * Weight gradient at the kept positions only: {@code dwSlots[slot] = (dY * X^T)[row, col]} for
     * every real slot of {@code w} (laid out like {@link NmMatrix#values()}), 0 at padding slots.
     * Expand with {@link NmMatrix#scatterSlots(float[], float[])}.
     */
    void nmBackwardWeight(NmMatrix w, float[] dy, float[] x, int cols, float[] dwSlots);

    /** Checks the array sizes of a gemm call; throws naming the parameter and both sizes. */
    static void checkGemm(float[] a, float[] b, float[] c, int m, int k, int n) {
        if (m < 1 || k < 1 || n < 1) {
            throw new IllegalArgumentException("gemm needs m, k, n >= 1, got m=" + m + ", k=" + k + ", n=" + n);
        }
        checkLength("a", a, (long) m * k);
        checkLength("b", b, (long) k * n);
        checkLength("c", c, (long) m * n);
    }

    /** Checks the array sizes of an N:M call. */
    static void checkNm(NmMatrix w, float[] in, int inRows, float[] out, int outRows, int cols, String inName, String outName) {
        if (cols < 1) {
            throw new IllegalArgumentException("cols must be >= 1, got cols=" + cols);
        }
        checkLength(inName, in, (long) inRows * cols);
        checkLength(outName, out, (long) outRows * cols);
    }

    static void checkLength(String name, float[] array, long expected) {
        if (array == null) {
            throw new NullPointerException(name);
        }
        if (array.length < expected) {
            throw new IllegalArgumentException(name + " has " + array.length + " entries, expected at least " + expected);
        }
    }
}
