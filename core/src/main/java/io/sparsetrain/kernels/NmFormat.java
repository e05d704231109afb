package io.sparsetrain.kernels;

/**
 * An N:M sparsity pattern: in every group of {@code m} consecutive entries along the reduction
 * dimension K of a weight matrix, at most {@code n} are kept (Mishra et al. 2021, "Accelerating
 * Sparse Deep Neural Networks", NVIDIA 2:4). Supported: {@code 1 <= n < m <= 8}.
 *
 * <p>Each kept entry carries its in-group index in {@link #indexBits()} bits, so a 2:4 group costs
 * two floats plus 4 bits of metadata.
 */
public record NmFormat(int n, int m) {

    /** Largest supported group size M. */
    public static final int MAX_M = 8;

    /** The tuned pattern. */
    public static final NmFormat TWO_FOUR = new NmFormat(2, 4);

    public NmFormat {
        if (m < 2 || m > MAX_M) {
            throw new IllegalArgumentException("N:M format needs 2 <= M <= " + MAX_M + ", got N=" + n + ", M=" + m);
        }
        if (n < 1 || n >= m) {
            throw new IllegalArgumentException("N:M mask needs 1 <= N < M, got N=" + n + ", M=" + m);
        }
    }

    public static NmFormat of(int n, int m) {
        return new NmFormat(n, m);
    }

    /** Bits of metadata per kept entry: ceil(log2(M)). */
    public int indexBits() {
        return 32 - Integer.numberOfLeadingZeros(m - 1);
    }

    /** Bits of metadata per group: N * indexBits. */
    public int groupBits() {
        return n * indexBits();
    }

    /** Groups along a reduction dimension of length k: K padded to a multiple of M. */
    public int groups(int k) {
        return (k + m - 1) / m;
    }

    @Override
    public String toString() {
        return n + ":" + m;
    }
}
