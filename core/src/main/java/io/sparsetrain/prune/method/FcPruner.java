package io.sparsetrain.prune.method;

import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskMaker;
import io.sparsetrain.prune.PrunableLayer;
import java.util.Arrays;

/**
 * Fully connected pruning of Campfire section 2.1.2 (after Mao et al.): block pruning, then fine pruning.
 *
 * <p>Works on the GEMM view {@code [out, in]} whatever the storage layout (see {@link LayerShape}).
 * Block phase: the view is tiled into {@code n x n} blocks (n = blockSize, edge blocks smaller), ranked
 * by the sum of |w|; the smallest blocks are removed while the layer stays at or below
 * {@code round(blockFraction * zeros)} zeros (stopping at the first block that would overshoot), skipping
 * a block whose removal would leave an output unit with no weight. Fine phase: individual weights of
 * smallest |w| are pruned until the layer has exactly {@code zeros} zeros, never the largest surviving
 * weight of an output unit. So every output unit ("column" of the paper's {@code [in, out]} matrix)
 * keeps at least one non-zero, and at most {@code size - outputs} weights can be pruned.
 */
public final class FcPruner implements MaskMaker {
    /** Block edge n; the paper requires n >= 5. */
    public static final int DEFAULT_BLOCK_SIZE = 5;
    /** Share of the layer's zeros taken by whole blocks before fine pruning. */
    public static final double DEFAULT_BLOCK_FRACTION = 0.5;

    private final int blockSize;
    private final double blockFraction;

    /** With {@link #DEFAULT_BLOCK_SIZE} and {@link #DEFAULT_BLOCK_FRACTION}. */
    public FcPruner() {
        this(DEFAULT_BLOCK_SIZE, DEFAULT_BLOCK_FRACTION);
    }

    /**
     * @param blockSize block edge n, at least 5 (Campfire)
     * @param blockFraction share of the zeros taken by block pruning, in [0, 1]
     */
    public FcPruner(int blockSize, double blockFraction) {
        if (blockSize < 5) {
            throw new IllegalArgumentException("blockSize must be >= 5 (n x n blocks, n >= 5), got " + blockSize);
        }
        if (!(blockFraction >= 0 && blockFraction <= 1)) {
            throw new IllegalArgumentException("blockFraction must be in [0, 1], got " + blockFraction);
        }
        this.blockSize = blockSize;
        this.blockFraction = blockFraction;
    }

    public int blockSize() {
        return blockSize;
    }

    public double blockFraction() {
        return blockFraction;
    }

    @Override
    public String name() {
        return "fc-block";
    }

    @Override
    public int maxZeros(LayerShape shape) {
        return shape.size() - shape.outputs();
    }

    @Override
    public Mask makeMaskWithZeros(PrunableLayer layer, int zeros) {
        MaskMaker.checkZeros(this, layer, zeros);
        LayerShape s = layer.shape();
        float[] w = layer.weights();
        int rows = s.outputs();
        int k = s.k();
        int n = blockSize;
        int rowBlocks = (rows + n - 1) / n;
        int colBlocks = (k + n - 1) / n;
        boolean[] keep = new boolean[s.size()];
        Arrays.fill(keep, true);

        long[] keys = new long[rowBlocks * colBlocks];
        for (int br = 0; br < rowBlocks; br++) {
            for (int bc = 0; bc < colBlocks; bc++) {
                double sum = 0;
                for (int r = br * n; r < Math.min(rows, br * n + n); r++) {
                    for (int c = bc * n; c < Math.min(k, bc * n + n); c++) {
                        sum += Math.abs(w[s.index(r, c)]);
                    }
                }
                keys[br * colBlocks + bc] = Ranking.key((float) sum, br * colBlocks + bc);
            }
        }
        Arrays.sort(keys);
        int blockZeros = (int) Math.round(blockFraction * zeros);
        int[] rowKept = new int[rows];
        Arrays.fill(rowKept, k);
        int z = 0;
        for (long key : keys) {
            int b = Ranking.indexOf(key);
            int r0 = (b / colBlocks) * n;
            int r1 = Math.min(rows, r0 + n);
            int c0 = (b % colBlocks) * n;
            int width = Math.min(k, c0 + n) - c0;
            if (z + (r1 - r0) * width > blockZeros) {
                break; // the next block would overshoot the block share
            }
            boolean emptiesRow = false;
            for (int r = r0; r < r1; r++) {
                emptiesRow |= rowKept[r] - width <= 0;
            }
            if (emptiesRow) {
                continue; // every output keeps a weight
            }
            for (int r = r0; r < r1; r++) {
                for (int c = c0; c < c0 + width; c++) {
                    keep[s.index(r, c)] = false;
                }
                rowKept[r] -= width;
            }
            z += (r1 - r0) * width;
        }

        boolean[] protect = new boolean[s.size()];
        for (int r = 0; r < rows; r++) {
            int best = -1;
            for (int c = 0; c < k; c++) {
                int i = s.index(r, c);
                if (keep[i] && (best < 0 || Math.abs(w[i]) > Math.abs(w[best]))) {
                    best = i;
                }
            }
            assert best >= 0;
            protect[best] = true;
        }
        Ranking.pruneSmallestKept(w, keep, zeros - z, protect);
        return Mask.fromKeep(s, keep);
    }

    @Override
    public String toString() {
        return "FcPruner{blockSize=" + blockSize + ", blockFraction=" + blockFraction + "}";
    }
}
