package io.sparsetrain.learn.nm;

import java.util.Arrays;

/**
 * All C(M,N) keep patterns of an N:M block, the pattern matrix P of METHODS.md section 2 (M rows, one
 * column per pattern; P[j][p] = 1 when pattern p keeps position j of the block).
 *
 * <p>Order (deterministic, part of the logit layout): patterns are the N-subsets of {0..M-1} in
 * lexicographic order of their sorted kept positions. For 2:4: {0,1}, {0,2}, {0,3}, {1,2}, {1,3}, {2,3}.
 * So among equal logits, argmax (first maximum) prefers keeping earlier positions, like the magnitude
 * baseline's tie rule. M is limited to 8 (at most C(8,4) = 70 patterns). Immutable.
 */
public final class NmPatterns {
    /** Largest supported block size M. */
    public static final int MAX_M = 8;

    private final int n;
    private final int m;
    private final int[][] kept; // [pattern][N] sorted kept positions
    private final int[] bits;   // [pattern] bit j set when position j is kept

    private NmPatterns(int n, int m) {
        this.n = n;
        this.m = m;
        int count = binomial(m, n);
        this.kept = new int[count][];
        this.bits = new int[count];
        int[] comb = new int[n];
        for (int i = 0; i < n; i++) {
            comb[i] = i;
        }
        for (int p = 0; p < count; p++) {
            kept[p] = comb.clone();
            for (int j : comb) {
                bits[p] |= 1 << j;
            }
            // next combination in lexicographic order
            int i = n - 1;
            while (i >= 0 && comb[i] == m - n + i) {
                i--;
            }
            if (i >= 0) {
                comb[i]++;
                for (int j = i + 1; j < n; j++) {
                    comb[j] = comb[j - 1] + 1;
                }
            }
        }
    }

    /**
     * The patterns of N:M.
     *
     * @throws IllegalArgumentException unless 1 &lt;= N &lt; M &lt;= {@link #MAX_M}
     */
    public static NmPatterns of(int n, int m) {
        if (n < 1 || m < 2 || n >= m || m > MAX_M) {
            throw new IllegalArgumentException("N:M patterns need 1 <= N < M <= " + MAX_M + ", got N=" + n + ", M=" + m);
        }
        return new NmPatterns(n, m);
    }

    /** C(m, n) for small arguments. */
    public static int binomial(int m, int n) {
        if (n < 0 || n > m) {
            return 0;
        }
        long c = 1;
        for (int i = 1; i <= n; i++) {
            c = c * (m - n + i) / i;
        }
        return (int) c;
    }

    public int n() {
        return n;
    }

    public int m() {
        return m;
    }

    /** Number of patterns, C(M, N). */
    public int count() {
        return kept.length;
    }

    /** True if pattern p keeps block position j. */
    public boolean keeps(int p, int j) {
        return (bits[p] & (1 << j)) != 0;
    }

    /** Sorted kept positions of pattern p (a copy). */
    public int[] keptPositions(int p) {
        return kept[p].clone();
    }

    /** Kept positions of pattern p as a bit set (bit j = position j). */
    public int bits(int p) {
        return bits[p];
    }

    /** The M x C(M,N) 0/1 matrix P, row j = block position, column p = pattern. */
    public int[][] matrix() {
        int[][] mat = new int[m][count()];
        for (int p = 0; p < count(); p++) {
            for (int j : kept[p]) {
                mat[j][p] = 1;
            }
        }
        return mat;
    }

    /**
     * Index of the pattern keeping exactly these positions (any order).
     *
     * @throws IllegalArgumentException if it is not N distinct positions in [0, M)
     */
    public int indexOf(int... keptPositions) {
        int b = 0;
        for (int j : keptPositions) {
            if (j < 0 || j >= m || (b & (1 << j)) != 0) {
                throw new IllegalArgumentException("not " + n + " distinct positions in [0, " + m + "): "
                        + Arrays.toString(keptPositions));
            }
            b |= 1 << j;
        }
        if (keptPositions.length != n) {
            throw new IllegalArgumentException("an " + n + ":" + m + " pattern keeps " + n + " positions, got "
                    + Arrays.toString(keptPositions));
        }
        for (int p = 0; p < bits.length; p++) {
            if (bits[p] == b) {
                return p;
            }
        }
        throw new AssertionError("pattern missing: " + Arrays.toString(keptPositions));
    }

    /** Index of the pattern keeping the positions flagged true (length M, exactly N flags). */
    public int indexOf(boolean[] keep) {
        if (keep.length != m) {
            throw new IllegalArgumentException("keep flags need length M=" + m + ", got " + keep.length);
        }
        int[] pos = new int[n];
        int c = 0;
        for (int j = 0; j < m; j++) {
            if (keep[j]) {
                if (c == n) {
                    throw new IllegalArgumentException("more than N=" + n + " positions kept: " + Arrays.toString(keep));
                }
                pos[c++] = j;
            }
        }
        if (c != n) {
            throw new IllegalArgumentException("exactly N=" + n + " positions must be kept, got " + c);
        }
        return indexOf(pos);
    }

    @Override
    public String toString() {
        return "NmPatterns{" + n + ":" + m + ", " + count() + " patterns}";
    }
}
