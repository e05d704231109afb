package io.sparsetrain.kernels;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The kernel-side layout of an {@link NmMatrix}, derived once per mask (and per value refresh):
 * the real (non-padding) slots as CSR by row, for the forward product and the weight gradient,
 * and as CSR by column (W^T), for the input gradient; derived kernel layouts (padded, blocked,
 * grouped by kept pattern) are cached on first use. Index arrays are shared between matrices with
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
    private final ConcurrentHashMap<Integer, Gather> rowGather = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Integer, Gather> colGather = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Object, Object> derived = new ConcurrentHashMap<>();
    private final int rows;
    private final int k;
    private final NmFormat format;

    NmLayout(Index index, float[] slotValues, int rows, int k, NmFormat format) {
        this.index = index;
        this.rows = rows;
        this.k = k;
        this.format = format;
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

    /**
     * A CSR laid out for the gather kernels, which sweep all outputs of one block of {@code blockSize}
     * inner positions before the next block: entries ordered by block, then output, so that one block's
     * entries are contiguous and a sweep streams them in order (a row-major CSR makes each (output, block)
     * segment a separate cache miss once the matrix exceeds L2: 512 outputs = 512 interleaved streams).
     * The entries of (output o, block b) are {@code [ptr[b * (outputs + 1) + o], ptr[b * (outputs + 1) + o + 1])};
     * {@code idx} is each entry's position inside its block (one byte: 0 .. blockSize - 1), {@code val} its value.
     */
    public record Gather(int outputs, int blocks, int[] ptr, byte[] idx, float[] val) {
        /** First pointer of block b. */
        public int blockBase(int b) {
            return b * (outputs + 1);
        }
    }

    /** The row CSR (outputs = rows of W, blocks of K) as a {@link Gather}; cached per block size. */
    public Gather rowGather(int blockSize) {
        return rowGather.computeIfAbsent(blockSize,
                bs -> blockMajor(rowBlockPtr(bs), index.kIdx, rowValues, rows, (k + bs - 1) / bs, bs));
    }

    /**
     * A kernel layout derived from this one by {@code builder} (for kernels outside this package, e.g. the direct
     * convolution's entries regrouped by input channel), built on first use and cached under {@code key}, which
     * must identify everything the result depends on besides this layout.
     */
    @SuppressWarnings("unchecked")
    public <T> T derived(Object key, java.util.function.Function<NmLayout, T> builder) {
        return (T) derived.computeIfAbsent(key, k -> builder.apply(this));
    }

    /** The {@link #colLockstep(int)} CSR (outputs = columns of W, blocks of rows) as a {@link Gather}; cached. */
    public Gather colGather(int blockSize) {
        return colGather.computeIfAbsent(blockSize, bs -> {
            Lockstep l = colLockstep(bs);
            return blockMajor(l.bptr(), l.idx(), l.val(), k, (rows + bs - 1) / bs, bs);
        });
    }

    /** Re-lays a CSR with row-major block pointers ({@code bp[o * (nb + 1) + b]}) block-major. */
    static Gather blockMajor(int[] bp, int[] idx, float[] val, int outs, int nb, int bs) {
        if (bs < 1 || bs > 128) {
            throw new IllegalArgumentException("gather layouts need a block size in [1, 128], got " + bs);
        }
        int total = outs == 0 ? 0 : bp[(outs - 1) * (nb + 1) + nb] - bp[0];
        int[] ptr = new int[nb * (outs + 1)];
        byte[] bi = new byte[Math.max(0, total)];
        float[] bv = new float[Math.max(0, total)];
        int e = 0;
        for (int b = 0; b < nb; b++) {
            for (int o = 0; o < outs; o++) {
                ptr[b * (outs + 1) + o] = e;
                for (int src = bp[o * (nb + 1) + b]; src < bp[o * (nb + 1) + b + 1]; src++, e++) {
                    bi[e] = (byte) (idx[src] - b * bs);
                    bv[e] = val[src];
                }
            }
            ptr[b * (outs + 1) + outs] = e;
        }
        return new Gather(outs, nb, ptr, bi, bv);
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

    /**
     * The rows partitioned by kept pattern, group by group, for the pattern-grouped weight-gradient
     * kernel ({@code VectorGemm.nmBackwardWeightGrouped}). Built once per mask (cached with the
     * index arrays, shared by {@link NmMatrix#withValues}); thread-safe.
     */
    public GroupedLayout groupedLayout() {
        return (GroupedLayout) index.derived.computeIfAbsent("grouped", key -> buildGrouped());
    }

    /**
     * Rows grouped by the set of positions they keep in each group of M. A <em>pattern list</em> l
     * belongs to one group; the lists of group g are [{@code groupPtr[g]}, {@code groupPtr[g + 1]}),
     * in ascending order of the pattern's bit mask (bit i: in-group position i kept). List l keeps
     * {@code listKept[l]} positions (1..N; fewer than N for groups that keep fewer), the absolute K
     * positions {@code listK[l * n + j]} for j < listKept[l] (ascending; unused entries -1), and holds
     * the rows [{@code listPtr[l]}, {@code listPtr[l + 1]}) of {@code rows} (ascending) with
     * {@code slot[i]}, the slot in {@link NmMatrix#values()} of row rows[i]'s first kept entry of the
     * group; its j-th kept position has slot {@code slot[i] + j}. Groups a row keeps nothing of are in
     * no list. {@code n} is the format's N, {@code groups} ceil(K / M).
     */
    public record GroupedLayout(int n, int groups, int[] groupPtr, int[] listPtr, int[] listKept, int[] listK,
                                int[] rows, int[] slot) {

        /** Number of pattern lists (all groups). */
        public int lists() {
            return listKept.length;
        }
    }

    private GroupedLayout buildGrouped() {
        int n = format.n();
        int m = format.m();
        int groups = format.groups(k);
        int[] rowPtr = index.rowPtr;
        int[] kIdx = index.kIdx;
        // kept-position bit mask of every (row, group); 0 = keeps nothing
        int[] mask = new int[rows * groups];
        for (int r = 0; r < rows; r++) {
            for (int e = rowPtr[r]; e < rowPtr[r + 1]; e++) {
                mask[r * groups + kIdx[e] / m] |= 1 << (kIdx[e] % m);
            }
        }
        int[] groupPtr = new int[groups + 1];
        int[] listPtrTmp = new int[2 * groups + 1];
        int[] listMask = new int[listPtrTmp.length];
        int[] rowList = new int[rows * groups];
        int[] count = new int[1 << m];
        int[] start = new int[1 << m];
        int lists = 0;
        int placed = 0;
        for (int g = 0; g < groups; g++) {
            groupPtr[g] = lists;
            Arrays.fill(count, 0);
            for (int r = 0; r < rows; r++) {
                count[mask[r * groups + g]]++;
            }
            for (int pm = 1; pm < 1 << m; pm++) { // pattern 0 (nothing kept) gets no list
                if (count[pm] > 0) {
                    if (lists + 1 >= listPtrTmp.length) {
                        listPtrTmp = Arrays.copyOf(listPtrTmp, 2 * listPtrTmp.length);
                        listMask = Arrays.copyOf(listMask, listPtrTmp.length);
                    }
                    listMask[lists] = pm;
                    listPtrTmp[lists] = placed;
                    start[pm] = placed;
                    placed += count[pm];
                    lists++;
                }
            }
            for (int r = 0; r < rows; r++) {
                int pm = mask[r * groups + g];
                if (pm != 0) {
                    rowList[start[pm]++] = r;
                }
            }
        }
        groupPtr[groups] = lists;
        listPtrTmp[lists] = placed;
        int[] listPtr = Arrays.copyOf(listPtrTmp, lists + 1);
        int[] listKept = new int[lists];
        int[] listK = new int[lists * n];
        Arrays.fill(listK, -1);
        int[] rowsOut = Arrays.copyOf(rowList, placed);
        int[] slot = new int[placed];
        for (int g = 0; g < groups; g++) {
            for (int l = groupPtr[g]; l < groupPtr[g + 1]; l++) {
                int pm = listMask[l];
                int j = 0;
                for (int i = 0; i < m; i++) {
                    if ((pm & (1 << i)) != 0) {
                        listK[l * n + j++] = g * m + i;
                    }
                }
                listKept[l] = j;
                for (int i = listPtr[l]; i < listPtr[l + 1]; i++) {
                    slot[i] = (rowsOut[i] * groups + g) * n;
                }
            }
        }
        return new GroupedLayout(n, groups, groupPtr, listPtr, listKept, listK, rowsOut, slot);
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
