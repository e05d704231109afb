package io.sparsetrain.kernels;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The kernel-side layout of an {@link NmMatrix}, derived once per mask (and per value refresh):
 * the real (non-padding) slots as CSR by row, for the forward product and the weight gradient,
 * and as CSR by column (W^T), for the input gradient. Index arrays are shared between matrices with
 * the same mask; value arrays belong to one matrix.
 *
 * <p>All arrays are exposed without copying for the kernels; callers must not modify them.
 */
public final class NmLayout {

    private final Index index;
    private final float[] rowValues;
    private final float[] colValues;
    private final ConcurrentHashMap<Integer, int[]> rowBlocks = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Integer, int[]> colBlocks = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Integer, Lockstep> colLockstep = new ConcurrentHashMap<>();
    private final int rows;
    private final int k;

    NmLayout(Index index, float[] slotValues, int rows, int k) {
        this.index = index;
        this.rows = rows;
        this.k = k;
        int nnz = index.kIdx.length;
        rowValues = new float[nnz];
        colValues = new float[nnz];
        for (int e = 0; e < nnz; e++) {
            rowValues[e] = slotValues[index.slot[e]];
        }
        for (int e = 0; e < nnz; e++) {
            colValues[e] = slotValues[index.tSlot[e]];
        }
    }

    /** Real kept entries. */
    public int nnz() {
        return index.kIdx.length;
    }

    /** rows + 1 offsets into {@link #kIndex()}/{@link #rowValues()}/{@link #rowSlot()}. */
    public int[] rowPtr() {
        return index.rowPtr;
    }

    /** Column (K position) of each entry, ascending within a row. */
    public int[] kIndex() {
        return index.kIdx;
    }

    /** Value of each entry in row order. */
    public float[] rowValues() {
        return rowValues;
    }

    /** Slot (index into {@link NmMatrix#values()}) of each entry in row order. */
    public int[] rowSlot() {
        return index.slot;
    }

    /** K + 1 offsets into {@link #colRow()}/{@link #colValues()}/{@link #colSlot()}. */
    public int[] colPtr() {
        return index.colPtr;
    }

    /** Row of each entry in column order, ascending within a column. */
    public int[] colRow() {
        return index.tRow;
    }

    /** Value of each entry in column order. */
    public float[] colValues() {
        return colValues;
    }

    /** Slot of each entry in column order. */
    public int[] colSlot() {
        return index.tSlot;
    }

    /**
     * Block pointers of the row CSR for K blocks of {@code blockSize} positions: entry
     * {@code row * (nb + 1) + b} is the first entry of {@code row} with K position >= b * blockSize,
     * for b in [0, nb], nb = ceil(K / blockSize). Cached per block size.
     */
    public int[] rowBlockPtr(int blockSize) {
        return rowBlocks.computeIfAbsent(blockSize, bs -> blockPtr(index.rowPtr, index.kIdx, rows, k, bs));
    }

    /** Like {@link #rowBlockPtr(int)} for the column CSR, blocking the row dimension. */
    public int[] colBlockPtr(int blockSize) {
        return colBlocks.computeIfAbsent(blockSize, bs -> blockPtr(index.colPtr, index.tRow, k, rows, bs));
    }

    /**
     * The column CSR re-laid for kernels that advance {@value #LOCKSTEP_ROWS} consecutive output
     * rows (columns of W) in lock step: for every aligned group of {@value #LOCKSTEP_ROWS} columns
     * and every block of {@code blockSize} rows, each column gets the same number of entries, the
     * shorter ones padded with zero-valued entries pointing at the block's first row. Entries are
     * ordered by column, then block; {@code bptr} is laid out like {@link #colBlockPtr(int)}.
     * Costs about 10% extra multiply-adds for random 2:4 masks and removes the per-column remainder
     * loops; when padding would add more than 25% (structured masks) the plain column CSR is used.
     */
    public Lockstep colLockstep(int blockSize) {
        return colLockstep.computeIfAbsent(blockSize, this::buildLockstep);
    }

    /** Output rows advanced together by {@link #colLockstep(int)}. */
    public static final int LOCKSTEP_ROWS = 4;

    /** A padded CSR: block pointers, inner indices and values. */
    public record Lockstep(int[] bptr, int[] idx, float[] val) {
    }

    private Lockstep buildLockstep(int bs) {
        int[] bp = colBlockPtr(bs);
        int nb = (rows + bs - 1) / bs;
        int[] counts = new int[k * nb];
        long total = 0;
        for (int c0 = 0; c0 < k; c0 += LOCKSTEP_ROWS) {
            int c1 = Math.min(k, c0 + LOCKSTEP_ROWS);
            for (int b = 0; b < nb; b++) {
                int max = 0;
                for (int c = c0; c < c1; c++) {
                    max = Math.max(max, bp[c * (nb + 1) + b + 1] - bp[c * (nb + 1) + b]);
                }
                for (int c = c0; c < c1; c++) {
                    counts[c * nb + b] = max;
                }
                total += (long) max * (c1 - c0);
            }
        }
        if (total > nnz() + nnz() / 4) {
            // structured masks (e.g. every row keeping the same positions) would pad too much:
            // keep the plain column CSR; the kernel's remainder loops handle unequal counts
            return new Lockstep(bp, index.tRow, colValues);
        }
        int[] bptr = new int[k * (nb + 1)];
        int[] idx = new int[(int) total];
        float[] val = new float[(int) total];
        int e = 0;
        for (int c = 0; c < k; c++) {
            for (int b = 0; b < nb; b++) {
                bptr[c * (nb + 1) + b] = e;
                int src = bp[c * (nb + 1) + b];
                int have = bp[c * (nb + 1) + b + 1] - src;
                for (int j = 0; j < counts[c * nb + b]; j++, e++) {
                    if (j < have) {
                        idx[e] = index.tRow[src + j];
                        val[e] = colValues[src + j];
                    } else {
                        idx[e] = b * bs; // padding: value 0 at the block's first row
                    }
                }
            }
            bptr[c * (nb + 1) + nb] = e;
        }
        return new Lockstep(bptr, idx, val);
    }

    /**
     * The row CSR re-laid for the sampled weight-gradient kernel: per row and per block of
     * {@code blockSize} K positions, the kept entries padded to a multiple of {@code group} with
     * dummy entries (a K position inside the block, slot -1), so that the kernel always takes
     * {@code group} entries at a time. Cached per (block size, group) with the mask's index arrays
     * (shared by {@link NmMatrix#withValues}).
     */
    public WeightGradLayout weightGradLayout(int blockSize, int group) {
        return (WeightGradLayout) index.derived.computeIfAbsent("dw" + blockSize + "/" + group,
                key -> buildWeightGrad(blockSize, group));
    }

    /**
     * A padded row CSR: entries of (row r, block b) are [ptr[r * blocks + b], ptr[r * blocks + b + 1]),
     * a multiple of the group size; {@code idx} the K position of each entry, {@code slot} its slot in
     * {@link NmMatrix#values()} or -1 for padding. {@code identity}: no padding and slot[e] == e for
     * every entry (every group keeps exactly N), so results can be written to the slots directly;
     * {@code maxPerBlock} the most (padded) entries of one (row, block).
     */
    public record WeightGradLayout(int blockSize, int blocks, int[] ptr, int[] idx, int[] slot, boolean identity,
                                   int maxPerBlock) {
    }

    private WeightGradLayout buildWeightGrad(int bs, int group) {
        int[] bp = rowBlockPtr(bs);
        int nb = (k + bs - 1) / bs;
        int[] ptr = new int[rows * nb + 1];
        long total = 0;
        int max = 0;
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < nb; b++) {
                int have = bp[r * (nb + 1) + b + 1] - bp[r * (nb + 1) + b];
                int padded = (have + group - 1) / group * group;
                ptr[r * nb + b] = (int) total;
                total += padded;
                max = Math.max(max, padded);
            }
        }
        ptr[rows * nb] = (int) total;
        int[] idx = new int[(int) total];
        int[] slot = new int[(int) total];
        boolean identity = total == (long) index.slot.length;
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < nb; b++) {
                int src = bp[r * (nb + 1) + b];
                int have = bp[r * (nb + 1) + b + 1] - src;
                int e = ptr[r * nb + b];
                for (int j = 0; j < ptr[r * nb + b + 1] - ptr[r * nb + b]; j++, e++) {
                    if (j < have) {
                        idx[e] = index.kIdx[src + j];
                        slot[e] = index.slot[src + j];
                    } else {
                        idx[e] = b * bs; // padding: the block's first position, result dropped
                        slot[e] = -1;
                    }
                    identity &= slot[e] == e;
                }
            }
        }
        return new WeightGradLayout(bs, nb, ptr, idx, slot, identity, max);
    }

    private static int[] blockPtr(int[] ptr, int[] idx, int nOut, int inner, int bs) {
        int nb = (inner + bs - 1) / bs;
        int[] bp = new int[nOut * (nb + 1)];
        for (int o = 0; o < nOut; o++) {
            int e = ptr[o];
            int end = ptr[o + 1];
            for (int b = 0; b < nb; b++) {
                int lo = b * bs;
                while (e < end && idx[e] < lo) {
                    e++;
                }
                bp[o * (nb + 1) + b] = e;
            }
            bp[o * (nb + 1) + nb] = end;
        }
        return bp;
    }

    /** Index arrays of the real slots; immutable once built. */
    record Index(int[] rowPtr, int[] kIdx, int[] slot, int[] colPtr, int[] tRow, int[] tSlot,
                 ConcurrentHashMap<String, Object> derived) {

        static Index build(NmMatrix w) {
            int rows = w.rows();
            int k = w.k();
            int groups = w.groups();
            int n = w.format().n();
            int m = w.format().m();
            int[] rowPtr = new int[rows + 1];
            int nnz = 0;
            for (int r = 0; r < rows; r++) {
                for (int g = 0; g < groups; g++) {
                    nnz += w.keptCount(r, g);
                }
                rowPtr[r + 1] = nnz;
            }
            int[] kIdx = new int[nnz];
            int[] slot = new int[nnz];
            int[] colCount = new int[k + 1];
            int e = 0;
            for (int r = 0; r < rows; r++) {
                for (int g = 0; g < groups; g++) {
                    int c = w.keptCount(r, g);
                    for (int j = 0; j < c; j++) {
                        int col = g * m + w.index(r, g, j);
                        kIdx[e] = col;
                        slot[e] = (r * groups + g) * n + j;
                        colCount[col + 1]++;
                        e++;
                    }
                }
            }
            int[] colPtr = new int[k + 1];
            for (int c = 0; c < k; c++) {
                colPtr[c + 1] = colPtr[c] + colCount[c + 1];
            }
            int[] fill = colPtr.clone();
            int[] tRow = new int[nnz];
            int[] tSlot = new int[nnz];
            for (int r = 0; r < rows; r++) {
                for (int x = rowPtr[r]; x < rowPtr[r + 1]; x++) {
                    int p = fill[kIdx[x]]++;
                    tRow[p] = r;
                    tSlot[p] = slot[x];
                }
            }
            return new Index(rowPtr, kIdx, slot, colPtr, tRow, tSlot, new ConcurrentHashMap<>());
        }
    }
}
