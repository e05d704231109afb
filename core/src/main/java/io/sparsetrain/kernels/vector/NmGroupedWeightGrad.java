package io.sparsetrain.kernels.vector;

import io.sparsetrain.kernels.KernelThreads;
import io.sparsetrain.kernels.NmLayout;
import io.sparsetrain.kernels.NmMatrix;
import java.util.Arrays;

/**
 * The pattern-grouped weight gradient ({@link VectorGemm#nmBackwardWeightGrouped}): the sampled
 * product dW[r, k] = sum_c dY[r, c] X[k, c] at the kept (r, k) of an N:M matrix, computed like a
 * dense register-blocked product on the rows that share a pattern.
 *
 * <p>In every group of M positions each row keeps one of C(M, N) patterns (2:4: 6). The rows are
 * partitioned by pattern once per mask ({@link NmLayout#groupedLayout()}); a block of R rows with
 * the same pattern then needs only the pattern's N rows of X, loaded once per column vector and
 * shared by the R rows, and each row's dY vector shared by its N positions: N + R loads for R * N
 * FMAs ({@link NmGroupedWeightGradKernels}), where the sampled and gather kernels need about one
 * load per FMA. Accumulators stay in registers across a column tile of {@link #TILE} columns and
 * are reduced ({@code reduceLanes}) into the slots at its end.
 *
 * <p>Work: a task is a panel of rows x a range of groups, so tasks write disjoint slots (each task
 * zeroes its own slots first; slots of groups a row keeps nothing of stay 0). Inside a task, tile
 * by tile, every group's pattern lists (restricted to the panel's rows) are cut into balanced
 * blocks of at most {@link #maxRows(int)} rows; the panel's dY tile (at most {@link #PANEL_FLOATS}
 * floats, L2) is reread for every group, the group's M x TILE slab of X stays in L1 across its
 * patterns. Patterns keeping more than {@link NmGroupedWeightGradKernels#MAX_KEPT} positions
 * (N >= 5) run as chunks of at most that many. Column tail (cols not a multiple of the vector
 * length): scalar. Padded K positions past K are never kept, so X is never read past K.
 */
final class NmGroupedWeightGrad {

    static final int L = VectorGemm.L;
    /**
     * Columns per tile (a multiple of the vector length): accumulators are reduced once per tile,
     * so wider tiles amortise the reductions, narrower ones keep more dY rows in cache. Default 64
     * vectors (1024 columns with AVX-512); system property {@code sparsetrain.kernels.dwGroupedTile}.
     */
    static final int TILE = Math.max(L, Integer.getInteger("sparsetrain.kernels.dwGroupedTile", 64 * L) / L * L);
    /**
     * Budget for a task's dY tile (rows of the panel x tile columns), in floats: 512 KiB, so that
     * the tile stays in L2 while it is reread for every group. System property
     * {@code sparsetrain.kernels.dwGroupedPanelFloats}.
     */
    static final int PANEL_FLOATS = Math.max(L, Integer.getInteger("sparsetrain.kernels.dwGroupedPanelFloats", 128 * 1024));
    /** Fewest rows per panel when rows are split for parallelism (few groups). */
    static final int MIN_PANEL_ROWS = 16;
    /**
     * Rows per block by kept positions (index 1..4): with 32 vector registers (512-bit vectors)
     * 16, 12, 8, 6 (R * N accumulators + N X vectors + dY within 32), otherwise 12, 6, 3, 2 (within
     * 16). System property {@code sparsetrain.kernels.dwGroupedRows}: four comma-separated counts,
     * clamped to 1..{@link NmGroupedWeightGradKernels#MAX_ROWS}.
     */
    private static final int[] ROWS = rowsPerBlock();

    private NmGroupedWeightGrad() {
    }

    /** Most rows per kernel block for {@code kept} positions (1..MAX_KEPT). */
    static int maxRows(int kept) {
        return ROWS[kept];
    }

    private static int[] rowsPerBlock() {
        int[] rows = wideVectors() ? new int[] {0, 16, 12, 8, 6} : new int[] {0, 12, 6, 3, 2};
        String p = System.getProperty("sparsetrain.kernels.dwGroupedRows");
        if (p != null && !p.isBlank()) {
            String[] parts = p.split(",");
            for (int n = 1; n <= NmGroupedWeightGradKernels.MAX_KEPT && n <= parts.length; n++) {
                try {
                    rows[n] = Integer.parseInt(parts[n - 1].trim());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("sparsetrain.kernels.dwGroupedRows must be comma-separated integers, got '"
                            + p + "'", e);
                }
            }
        }
        for (int n = 1; n <= NmGroupedWeightGradKernels.MAX_KEPT; n++) {
            rows[n] = Math.max(1, Math.min(NmGroupedWeightGradKernels.MAX_ROWS[n], rows[n]));
        }
        return rows;
    }

    /** 512-bit vectors: AVX-512, 32 vector registers. */
    private static boolean wideVectors() {
        return VectorGemm.S.vectorBitSize() >= 512;
    }

    /** dwSlots [0, w.slots()) = the weight gradient at w's slots (argument checks by the caller). */
    static void run(NmMatrix w, float[] dy, float[] x, int cols, float[] dwSlots, KernelThreads t) {
        int rows = w.rows();
        NmLayout.GroupedLayout gl = w.layout().groupedLayout();
        int groups = gl.groups();
        int tile = Math.min(TILE, (cols + L - 1) / L * L);
        int panelRows = Math.max(1, Math.min(rows, PANEL_FLOATS / tile));
        int panels = (rows + panelRows - 1) / panelRows;
        int groupChunks = 1;
        int threads = t.threads();
        if (threads > 1) {
            // about 4 tasks per thread (handed out dynamically: balances a loaded machine); every
            // extra group chunk rereads its panel's dY once
            int want = 4 * threads;
            if (panels < want) {
                groupChunks = Math.min(groups, (want + panels - 1) / panels);
                if (panels * groupChunks < want && rows > MIN_PANEL_ROWS) {
                    // very few groups: split the rows (every pattern list) too
                    int needPanels = (want + groupChunks - 1) / groupChunks;
                    panelRows = Math.max(MIN_PANEL_ROWS, (rows + needPanels - 1) / needPanels);
                    panels = (rows + panelRows - 1) / panelRows;
                }
            }
        }
        int pr = panelRows;
        int chunks = groupChunks;
        int nPanels = panels;
        t.parallelFor(nPanels * chunks, task -> {
            int p = task % nPanels;
            int gc = task / nPanels;
            int r0 = p * pr;
            int r1 = Math.min(rows, r0 + pr);
            int g0 = (int) ((long) groups * gc / chunks);
            int g1 = (int) ((long) groups * (gc + 1) / chunks);
            task(gl, dy, x, cols, tile, r0, r1, g0, g1, r0 == 0 && r1 == rows, dwSlots);
        });
    }

    /** Rows [r0, r1) x groups [g0, g1): zeroes the task's slots, then accumulates tile by tile. */
    private static void task(NmLayout.GroupedLayout gl, float[] dy, float[] x, int cols, int tile, int r0, int r1,
                             int g0, int g1, boolean allRows, float[] dw) {
        int n = gl.n();
        int groups = gl.groups();
        for (int r = r0; r < r1; r++) {
            Arrays.fill(dw, (r * groups + g0) * n, (r * groups + g1) * n, 0f);
        }
        int[] groupPtr = gl.groupPtr();
        int[] listPtr = gl.listPtr();
        int[] rowsOf = gl.rows();
        int l0 = groupPtr[g0];
        int l1 = groupPtr[g1];
        // each list's rows within [r0, r1) (rows ascending within a list)
        int[] lo = new int[l1 - l0];
        int[] hi = new int[l1 - l0];
        for (int l = l0; l < l1; l++) {
            lo[l - l0] = allRows ? listPtr[l] : lowerBound(rowsOf, listPtr[l], listPtr[l + 1], r0);
            hi[l - l0] = allRows ? listPtr[l + 1] : lowerBound(rowsOf, lo[l - l0], listPtr[l + 1], r1);
        }
        for (int c0 = 0; c0 < cols; c0 += tile) {
            int c1 = Math.min(cols, c0 + tile);
            int v1 = c0 + (c1 - c0) / L * L; // vectors in [c0, v1), scalar tail [v1, c1)
            for (int l = l0; l < l1; l++) {
                list(gl, l, lo[l - l0], hi[l - l0], dy, x, 0, null, cols, c0, v1, c1, dw);
            }
        }
    }

    /**
     * Rows [a, b) of pattern list {@code l} over columns [c0, c1): the kernels on the vectors [c0, v1), scalar loops
     * on the tail [v1, c1). X's row k starts at {@code x[xBase + k * cols]}, or at {@code x[xBase + kOffset[k]]}
     * when {@code kOffset} is non-null (rows of padded images: {@link DirectNmWeightGrad}); dY's row r at
     * {@code dy[r * cols]}.
     */
    static void list(NmLayout.GroupedLayout gl, int l, int a, int b, float[] dy, float[] x, int xBase, int[] kOffset,
                     int cols, int c0, int v1, int c1, float[] dw) {
        if (a == b) {
            return;
        }
        int[] listK = gl.listK();
        int[] rowsOf = gl.rows();
        int[] slot = gl.slot();
        int kept = gl.listKept()[l];
        int kOff = l * gl.n();
        if (v1 > c0) {
            // patterns wider than the kernels: balanced chunks of at most MAX_KEPT positions
            int parts = (kept + NmGroupedWeightGradKernels.MAX_KEPT - 1) / NmGroupedWeightGradKernels.MAX_KEPT;
            int j0 = 0;
            for (int part = 0; part < parts; part++) {
                int nk = kept / parts + (part < kept % parts ? 1 : 0);
                int xo0 = xRow(listK[kOff + j0], xBase, kOffset, cols);
                int xo1 = nk > 1 ? xRow(listK[kOff + j0 + 1], xBase, kOffset, cols) : 0;
                int xo2 = nk > 2 ? xRow(listK[kOff + j0 + 2], xBase, kOffset, cols) : 0;
                int xo3 = nk > 3 ? xRow(listK[kOff + j0 + 3], xBase, kOffset, cols) : 0;
                blocks(nk, a, b, dy, x, cols, c0, v1, rowsOf, slot, xo0, xo1, xo2, xo3, j0, dw);
                j0 += nk;
            }
        }
        for (int i = a; i < b && c1 > v1; i++) { // scalar column tail
            int d = rowsOf[i] * cols;
            for (int j = 0; j < kept; j++) {
                int xo = xRow(listK[kOff + j], xBase, kOffset, cols);
                float s = 0f;
                for (int c = v1; c < c1; c++) {
                    s += dy[d + c] * x[xo + c];
                }
                dw[slot[i] + j] += s;
            }
        }
    }

    private static int xRow(int k, int xBase, int[] kOffset, int cols) {
        return xBase + (kOffset == null ? k * cols : kOffset[k]);
    }

    /** Rows [a, b) of one pattern list in balanced blocks of at most maxRows(nk) rows. */
    private static void blocks(int nk, int a, int b, float[] dy, float[] x, int cols, int c0, int c1, int[] rowsOf,
                               int[] slot, int xo0, int xo1, int xo2, int xo3, int j0, float[] dw) {
        int count = b - a;
        int rmax = ROWS[nk];
        int nb = (count + rmax - 1) / rmax;
        int base = count / nb;
        int extra = count % nb;
        int i = a;
        for (int q = 0; q < nb; q++) {
            int r = base + (q < extra ? 1 : 0);
            NmGroupedWeightGradKernels.block(nk, r, dy, x, cols, c0, c1, rowsOf, slot, i, xo0, xo1, xo2, xo3, j0, dw);
            i += r;
        }
    }

    /** First index in [from, to) of ascending {@code a} with a[i] >= key (to if none). */
    private static int lowerBound(int[] a, int from, int to, int key) {
        int lo = from;
        int hi = to;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (a[mid] < key) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
