package io.sparsetrain.kernels.vector;

import io.sparsetrain.kernels.Conv2dShape;
import io.sparsetrain.kernels.KernelThreads;
import io.sparsetrain.kernels.NmLayout;
import io.sparsetrain.kernels.NmMatrix;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Stride-1 convolutions read straight from a zero-padded copy of their operand (see
 * {@link io.sparsetrain.kernels.DirectConvolutions}): no im2col buffer, which for a 3x3 convolution is 9x the input
 * and, at batch 32, far larger than the caches, so that writing it and reading it back dominated the im2col
 * forwards (measured: im2col about half of the forward time, the product on it at 36-89 GFLOP/s dense).
 *
 * <p>Both directions are the same computation on a {@link Frame}: source planes [C, h, w] per image, zero-padded
 * to [C, hp, wp] with the source at (top, left); output position (y, x) is column {@code y * wrow + x} and inner
 * position i (a source channel and a kernel tap) is the row read from {@code offset[i]} on, so a panel of columns
 * [c0, c0 + w) of that row is {@code w} consecutive floats. The forward reads the input (inner = K positions
 * (ci, ky, kx) of W [Cout, K]); the input gradient reads dY padded by the kernel's reach minus the padding, with
 * the kernel flipped (inner = (co, ky, kx), dX[ci, y, x] = sum W[co, (ci, ky, kx)] dYp[co, y + (kh-1-ky) dh,
 * x + (kw-1-kx) dw]), i.e. the forward of the transposed convolution; the dense weight gradient reads the input's
 * padded rows as the A operand against dY in the same column numbering ({@link #backwardWeight}). The dense product
 * runs {@link VectorGemm}'s
 * register tile on those rows ({@code denseSlab} with the offset table); the N:M product runs the
 * {@code dgather} kernels, whose entries carry their row offsets. Tasks are (image group, column panel, row
 * chunk); each writes its finished accumulator panel into the output, dropping the columns past each output row.
 */
final class DirectConv {

    /** Floats after the last padded plane of a copy that a panel may read (for columns it drops). */
    static final int SLACK = VectorGemm.VMAX * VectorGemm.L + VectorGemm.PD;
    /** Floats of padded images prepared at a time (about 2 MiB: the chunk stays in L2/L3 while it is read). */
    static final int CHUNK_FLOATS = 1 << 19;
    /**
     * Most extra columns the aligned layout may add (rounding image rows up to whole vectors): 11%, so that 56x56
     * maps (58 padded columns in a row of 64, 10.3%) can align, in bands ({@link Frame#banded}).
     */
    static final double MAX_ALIGN_WASTE = 1.11;
    /** Fewest output rows of a band ({@link Frame#banded}): each band pads the kernel's reach (2 rows at 3x3) again. */
    static final int MIN_BAND_ROWS = 8;
    /** Most floats of one image group's padded copies for the image-parallel mode (in L2 while it is read). */
    static final int LOCAL_FLOATS = 1 << 18;
    /** Most floats of the per-task dW partial sums of the image-parallel weight gradient (16 MiB in all). */
    static final long DW_PARTIAL_FLOATS = 1 << 22;
    /** Floats per 64-byte cache line. */
    static final int LINE_FLOATS = 16;
    /**
     * Sets of the L1 data cache: 64 sets of 64-byte lines (a 4 KiB period: the L1 of current x86 cores, 32 KiB
     * 8-way on the target, 48 KiB 12-way on others), and the ways {@link Geometry#setOverflow} counts against.
     */
    static final int L1_SETS = 64;
    static final int L1_WAYS = 8;
    /** Most cache lines of padding put after each plane of the aligned copies ({@link Geometry#setOverflow}). */
    static final int MAX_GAP_LINES = 7;
    /** Reduction blocks {@link Geometry#setOverflow} looks at (the pattern of offsets repeats with the channels). */
    static final int SIM_BLOCKS = 4;

    private DirectConv() {
    }

    static boolean supportsForward(Conv2dShape s) {
        return s.strideH() == 1 && s.strideW() == 1;
    }

    /** The input gradient as a direct convolution needs stride 1 and padding within the kernel's reach. */
    static boolean supportsBackwardInput(Conv2dShape s) {
        return supportsForward(s) && s.padH() <= (s.kernelH() - 1) * s.dilationH()
                && s.padW() <= (s.kernelW() - 1) * s.dilationW();
    }

    /**
     * A direct convolution's operand and output: source planes [images, channels, h, w] padded to [hp, wp] with the
     * source at (top, left); output [images, rows, outH, outW]; horizontal tap shift unit {@code dw}, taps
     * {@code kw} (the shifted copies of the aligned layout); {@code kh} tap rows {@code dh} apart, and the order of
     * the inner positions the kernels read, (channel, tap) or, {@code tapMajor}, (tap, channel): what
     * {@link Geometry#setOverflow} needs to know which rows one reduction block reads.
     *
     * <p>Banded ({@code bands > 1}): each image is cut into {@code bands} horizontal bands of {@code outH} output
     * rows (the last one may be shorter), and the frame's {@code batch} counts bands: band i of image b is entry
     * {@code b * bands + i}, padded to {@code hp} rows (its output rows plus the kernel's reach) from source rows
     * {@code i * outH - top} on, and writing output rows {@code i * outH} on of {@code fullOutH}.
     */
    record Frame(int batch, int channels, int h, int w, int top, int left, int hp, int wp, int outH, int outW,
                 int kw, int dw, int bands, int fullOutH, int kh, int dh, boolean tapMajor) {

        static Frame forward(Conv2dShape s) {
            return new Frame(s.batch(), s.inChannels(), s.height(), s.width(), s.padH(), s.padW(),
                    s.height() + 2 * s.padH(), s.width() + 2 * s.padW(), s.outHeight(), s.outWidth(),
                    s.kernelW(), s.dilationW(), 1, s.outHeight(), s.kernelH(), s.dilationH(), s.channelMajorK());
        }

        static Frame backwardInput(Conv2dShape s) {
            int reachH = (s.kernelH() - 1) * s.dilationH();
            int reachW = (s.kernelW() - 1) * s.dilationW();
            return new Frame(s.batch(), s.outChannels(), s.outHeight(), s.outWidth(), reachH - s.padH(),
                    reachW - s.padW(), s.height() + reachH, s.width() + reachW, s.height(), s.width(),
                    s.kernelW(), s.dilationW(), 1, s.height(), s.kernelH(), s.dilationH(), false);
        }

        /** The source image of entry {@code b} (an image, or one of its bands). */
        int image(int b) {
            return b / bands;
        }

        /** The first output row of entry {@code b} in its image (0 unbanded). */
        int firstRow(int b) {
            return b % bands * outH;
        }

        /** This (unbanded) frame cut into {@code bands} bands of output rows as even as they go (fewer if some would be empty). */
        Frame banded(int bands) {
            int bandRows = (outH + bands - 1) / bands;
            int n = (outH + bandRows - 1) / bandRows;
            return new Frame(batch * n, channels, h, w, top, left, bandRows + hp - outH, wp, bandRows, outW, kw, dw,
                    n, outH, kh, dh, tapMajor);
        }
    }

    /**
     * The padded layout of a frame. {@code group} images sit side by side in one wide row of {@code wrow} floats
     * (each image keeps its own padding columns, which separate them); a group's planes are [C, hp, wrow].
     * Unaligned: one image per row, {@code wrow = wp}, source channel c shifted by (sy rows, tap column tx) at
     * {@code c * plane + sy * wrow + tx * dw}. Aligned ({@code copies = kw}): {@code wrow} a multiple of the
     * vector length, and copy tx holds the planes shifted left by {@code tx * dw}, so that every row the kernels
     * read starts on a vector boundary: {@code tx * copyStride + c * plane + sy * wrow}. The gather kernels load
     * one vector per multiply-add and unaligned 512-bit loads cost them about 1.5x in L1; the dense tile loads 2
     * vectors per 16 multiply-adds and reads the unaligned layout. The aligned layout is taken when it adds at most
     * {@link #MAX_ALIGN_WASTE} columns and a group's copies fit {@link #CHUNK_FLOATS}.
     *
     * <p>Bands. When one image's aligned copies are past that budget (64 channels at 56x56: 3 copies of 64 x 58 x 64
     * floats, 2.8 MB), the frame is cut into bands of output rows whose copies fit {@link #LOCAL_FLOATS} (there: 3
     * bands of 19 rows, 21 padded rows each, 1 MB), provided a band keeps at least {@link #MIN_BAND_ROWS} rows (each
     * band pads the kernel's reach again, 2 of 21 rows at 3x3); the bands are then laid out like images. With fewer
     * bands than twice the threads there are more, smaller ones (batch 1 on two threads: 4 bands of 14 rows), for the
     * image-parallel schedule. Measured in one JVM against the unaligned whole images (64x56, 2:4): forward and input
     * gradient 1.03-1.12x faster at batch 8-32 on one and two threads, 1.11-1.30x at batch 1-3 on two. Aligned whole
     * images whose copies are past {@link #LOCAL_FLOATS} (128 channels at 28x28: 1.5 MB) run on shared chunks; on
     * several threads they are banded too when that gives the image-parallel schedule (1.01-1.24x at batch 2-32 on
     * two threads, 0.97-1.02x at batch 3 and 8), not on one thread, where the bands' extra padded rows cost
     * 0.93-0.96x.
     *
     * <p>Planes a few cache lines apart. One reduction block of the gather kernels reads 64 inner positions over a
     * panel of 8 vectors, 8 cache lines each, and the sweep over the output rows rereads them: spread evenly they fill
     * the target's 32 KiB 8-way L1. When planes are a multiple of 4 KiB apart (32 channels at 14x14, 4 images a row:
     * 16 rows of 64 floats) the channels' rows fall into the same sets, so the aligned layout puts up to
     * {@link DirectConv#MAX_GAP_LINES} lines after each plane, the fewest that leave no set past
     * {@link DirectConv#L1_WAYS} lines ({@link #setOverflow}). Measured in one JVM against no gap (BENCHMARKS.md,
     * session 20): 2:4 at 32x14 1.03-1.07x forward and input gradient, the tap-major (channel-wise) forwards at 32x14
     * and 128x14 1.30-1.33x, no change elsewhere.
     *
     * <p>The group size. Of the image counts per row (up to L) whose aligned row adds at most
     * {@link #MAX_ALIGN_WASTE}, the smallest decides whether the layout is aligned at all; larger ones are taken
     * when they need less panel time per thread ({@link #panelCost}): the columns of a group are covered by
     * panels of 8, 4, 2 and 1 vectors, and the narrow ones cost more per column. 32x14 maps, one image a row: 222
     * columns, panels of 8, 4 and 2 vectors; four images a row: 894 columns, seven panels of 8. Measured in one JVM
     * against the smallest group (ResNet shapes, batch 32): the 2:4 forward and input gradient 1.08-1.20x faster
     * on one thread at 32x14, 64x7, 128x14, 128x7 and 256x7, 1.06-1.15x on two at 32x14 and 64x7, unchanged where
     * the group stays. On two threads a larger group must keep each thread's copies within
     * {@code LOCAL_FLOATS / threads}: at 64x7, ten images a row (648 KiB of copies) measured 0.96-0.99x where seven
     * (432 KiB) gain.
     *
     * <p>Two schedules. Image-parallel ({@code local}): each task pads one image group into its own workspace
     * and runs every panel of it, so the copies it reads were just written by the same core and sit in its L2,
     * and the tasks are coarse (a whole image). Otherwise the groups are padded {@code chunkGroups} at a time
     * into one shared buffer by all threads, then the (group, panel, row chunk) tasks read it: the case of no
     * more image groups than threads (batch 1 and 2 on two threads). Measured at batch 32,
     * interleaved in one JVM: the 2:4 forward 1.01-1.09x faster image-parallel on one thread and 1.08-2.3x on
     * two, where the shared chunks (2 MiB, past L2) were read from L3 by the other core. Image-parallel from
     * threads + 1 groups (it took 2 x threads until session 18; the groups left over after a full round are split
     * by panels since session 17): on two threads, 40 alternated rounds in one JVM, twice, the 2:4 forward and
     * input gradient 1.03-3.9x faster at batch 1-16 (16x32 at batch 7-9 1.3-3.9x, 16x28 and 32x14 at batch 3
     * 2.1-3.1x, 128x7 at 12 and 14, 32x16 at 12 and 14, 128x28 at 1), dense 1.6-1.8x at batch 3 (16x28, 32x14),
     * but 0.91-0.97x at 64x7 batch 12-13 (and batch 11 in one of the two runs).
     */
    record Geometry(Frame f, int group, int wrow, int plane, int groupFloats, int copies, int chunkGroups,
                    int copyStride, int cols, boolean local) {

        /**
         * The layout of {@code f}, aligned if {@code align} and worthwhile; image-parallel ({@link #local}) when the
         * product runs on {@code threads} threads (0: a caller that chunks the batch itself) with more image
         * groups than threads and a group's copies fit {@link #LOCAL_FLOATS}. An aligned layout may come back for
         * a banded frame ({@link Frame#banded}; "Bands" above). Remembered per (frame, align, threads): the aligned
         * layouts simulate the L1 sets ({@link #setOverflow}), tens of microseconds.
         */
        static Geometry of(Frame f, boolean align, int threads) {
            Key key = new Key(f, align, threads);
            Geometry g = CACHE.get(key);
            if (g == null) {
                if (CACHE.size() >= CACHE_SIZE) {
                    CACHE.clear(); // many batch sizes: start over rather than grow
                }
                g = choose(f, align, threads);
                CACHE.put(key, g);
            }
            return g;
        }

        private record Key(Frame f, boolean align, int threads) {
        }

        private static final int CACHE_SIZE = 1024;
        private static final Map<Key, Geometry> CACHE = new ConcurrentHashMap<>();

        private static Geometry choose(Frame f, boolean align, int threads) {
            Geometry whole = layout(f, align, threads);
            if (!align || f.bands() > 1) {
                return whole;
            }
            boolean unaligned = whole.copies() == 1;
            boolean shared = !unaligned && threads > 1 && !whole.local()
                    && (long) whole.copies() * whole.groupFloats() > LOCAL_FLOATS;
            if (!unaligned && !shared) {
                return whole;
            }
            // one image's aligned copies past the budget (56x56 maps at 64 channels: 2.8 MB), or past LOCAL_FLOATS on
            // several threads (28x28 at 128 channels: 1.5 MB): bands whose copies fit LOCAL_FLOATS, if that leaves at
            // least MIN_BAND_ROWS output rows a band; with few images, at least twice the threads in bands
            int w = alignedRow(f, 1);
            if (w == 0) {
                return whole;
            }
            long rowFloats = (long) f.kw() * f.channels() * w;
            int rows = (int) (LOCAL_FLOATS / rowFloats) - (f.hp() - f.outH()); // at most LOCAL_FLOATS: fits an int
            if (rows < MIN_BAND_ROWS || rows >= f.outH()) {
                return whole;
            }
            int bands = (f.outH() + rows - 1) / rows;
            if (threads > 1 && (long) f.batch() * bands < 2L * threads) {
                bands = Math.max(bands, Math.min((2 * threads + f.batch() - 1) / f.batch(), f.outH() / MIN_BAND_ROWS));
            }
            Geometry banded = layout(f.banded(bands), true, threads);
            // aligned whole images on shared chunks: bands only for the image-parallel schedule
            return banded.copies() > 1 && (unaligned || banded.local()) ? banded : whole;
        }

        private static Geometry layout(Frame f, boolean align, int threads) {
            int group = 1;
            int wrow = f.wp();
            int copies = 1;
            if (align) {
                int l = VectorGemm.L;
                double best = Double.MAX_VALUE;
                boolean bestLocal = false;
                for (int g = 1; g <= Math.min(l, f.batch()); g++) {
                    int w = alignedRow(f, g);
                    if (w == 0) {
                        continue;
                    }
                    long copyFloats = (long) f.kw() * f.channels() * f.hp() * w;
                    boolean first = best == Double.MAX_VALUE;
                    // only if a group's copies fit the chunk budget: past it the reads come from L3
                    // (64x56 maps: 3 images a row, 7.8 MB of copies) and measured no faster than unaligned
                    if (first && copyFloats > CHUNK_FLOATS) {
                        break;
                    }
                    if (!first && (copyFloats > CHUNK_FLOATS || threads > 1 && copyFloats > LOCAL_FLOATS / threads)) {
                        continue; // larger groups only while each thread's copies stay small (measured: "The group size" above)
                    }
                    int groups = (f.batch() + g - 1) / g;
                    boolean local = local(threads, groups, copyFloats);
                    if (bestLocal && !local) {
                        continue; // never give up the image-parallel schedule for fewer panels
                    }
                    // image-parallel: the leftover groups are split across the threads by panels (TailSplit)
                    double rounds = local ? (double) groups / threads : groups;
                    double cost = rounds * panelCost(cols(f, g, w));
                    if (cost < best || local && !bestLocal) {
                        best = cost;
                        bestLocal = local;
                        group = g;
                        wrow = w;
                        copies = f.kw();
                    }
                }
            }
            int groups = (f.batch() + group - 1) / group;
            int cols = cols(f, group, wrow);
            Geometry best = null;
            long bestOverflow = Long.MAX_VALUE;
            // aligned copies: planes a few cache lines apart when that spreads a block's rows over more L1 sets
            for (int gap = 0; gap <= (copies > 1 ? MAX_GAP_LINES : 0); gap++) {
                int plane = f.hp() * wrow + gap * LINE_FLOATS;
                int groupFloats = f.channels() * plane;
                boolean local = local(threads, groups, (long) copies * groupFloats);
                int chunkGroups = local ? 1
                        : (int) Math.max(1, Math.min(groups, CHUNK_FLOATS / ((long) copies * groupFloats)));
                if (best != null && best.local() && !local) {
                    break; // never give up the image-parallel schedule for a gap
                }
                int copyStride = roundUp(chunkGroups * groupFloats + SLACK);
                Geometry g = new Geometry(f, group, wrow, plane, groupFloats, copies, chunkGroups, copyStride, cols,
                        local);
                long overflow = copies > 1 ? g.setOverflow() : 0;
                if (overflow < bestOverflow) {
                    best = g;
                    bestOverflow = overflow;
                }
                if (overflow == 0) {
                    break;
                }
            }
            return best;
        }

        /**
         * L1 set pressure of the aligned layout: over the first {@link DirectConv#SIM_BLOCKS} reduction blocks (the
         * N:M kernels' {@link VectorGemm#KB} inner positions, in the frame's order; the input gradient's flipped taps
         * are taken unflipped, the same rows of each channel) and the first two full-width
         * panels ({@link VectorGemm#VMAX} vectors), the cache lines those rows cover beyond
         * {@link DirectConv#L1_WAYS} in any of the {@link DirectConv#L1_SETS} sets. A block's rows (8 lines each)
         * fill the 32 KiB L1 of the target exactly when spread evenly, and the sweep over all output rows rereads
         * them; with planes a multiple of 4 KiB apart (32 channels at 14x14: 16 padded rows of 64 floats) every
         * channel's rows fall into the same sets.
         */
        long setOverflow() {
            int kk = f.kh() * f.kw();
            int inner = f.channels() * kk;
            int panel = VectorGemm.VMAX * VectorGemm.L;
            int lines = panel / LINE_FLOATS;
            long overflow = 0;
            int[] count = new int[L1_SETS];
            int[] firsts = new int[VectorGemm.KB];
            for (int c0 = 0; c0 < Math.min(cols, 2 * panel); c0 += panel) {
                for (int b0 = 0; b0 < Math.min(inner, SIM_BLOCKS * VectorGemm.KB); b0 += VectorGemm.KB) {
                    int n = Math.min(inner, b0 + VectorGemm.KB) - b0;
                    for (int i = 0; i < n; i++) {
                        int c = f.tapMajor() ? (b0 + i) % f.channels() : (b0 + i) / kk;
                        int tap = f.tapMajor() ? (b0 + i) / f.channels() : (b0 + i) % kk;
                        firsts[i] = (offset(c, tap / f.kw() * f.dh(), tap % f.kw()) + c0) / LINE_FLOATS;
                    }
                    // rows a tap row apart share lines: count each line once
                    Arrays.sort(firsts, 0, n);
                    Arrays.fill(count, 0);
                    int next = Integer.MIN_VALUE; // first line not counted yet
                    for (int i = 0; i < n; i++) {
                        for (int l = Math.max(firsts[i], next); l < firsts[i] + lines; l++) {
                            count[l % L1_SETS]++;
                        }
                        next = Math.max(next, firsts[i] + lines);
                    }
                    for (int x : count) {
                        overflow += Math.max(0, x - L1_WAYS);
                    }
                }
            }
            return overflow;
        }

        /**
         * The aligned row of {@code group} images side by side: their padded width rounded up to whole vectors, or 0
         * when that adds more than {@link #MAX_ALIGN_WASTE}.
         */
        private static int alignedRow(Frame f, int group) {
            int l = VectorGemm.L;
            int w = (group * f.wp() + l - 1) / l * l;
            return w > MAX_ALIGN_WASTE * group * f.wp() ? 0 : w;
        }

        /** Columns of a padded row of {@code group} images {@code wrow} floats wide, up to the last output position. */
        private static int cols(Frame f, int group, int wrow) {
            return (f.outH() - 1) * wrow + (group - 1) * f.wp() + f.outW();
        }

        /**
         * Image-parallel: more image groups than threads (a full round, then the rest split by panels), and a group's
         * copies in L2.
         */
        private static boolean local(int threads, int groups, long copyFloats) {
            return threads > 0 && (threads == 1 || groups > threads) && copyFloats <= LOCAL_FLOATS;
        }

        /**
         * Relative time of the N:M panels over {@code cols} columns ({@link VectorGemm#nmPanels}): per vector of
         * columns, measured per kernel width (JFR samples per vector at ResNet-20's 32x14 and 64x7 forwards): the
         * narrow panels load the entry's weight and offset for fewer multiply-adds.
         */
        static double panelCost(int cols) {
            int[] plan = VectorGemm.nmPanels(cols);
            double cost = 0;
            for (int p = 1; p < plan.length; p += 2) {
                cost += plan[p] * switch (plan[p]) {
                    case 8 -> 1.0;
                    case 4 -> 1.25;
                    case 2 -> 1.7;
                    default -> 2.3;
                };
            }
            return cost;
        }

        /** Offset of source channel c shifted down by {@code sy} rows and right by tap column {@code tx}. */
        int offset(int c, int sy, int tx) {
            return c * plane + sy * wrow + (copies > 1 ? tx * copyStride : tx * f.dw());
        }

        int groups() {
            return (f.batch() + group - 1) / group;
        }

        private static int roundUp(int floats) {
            return (floats + 15) & ~15;
        }
    }

    /** Inner offsets of the forward: K position (ci, ky, kx) reads channel ci shifted by (ky dh, kx). */
    static int[] forwardOffsets(Conv2dShape s, Geometry g) {
        int kk = s.kernelH() * s.kernelW();
        int[] off = new int[s.k()];
        for (int ci = 0; ci < s.inChannels(); ci++) {
            for (int tap = 0; tap < kk; tap++) {
                off[s.kRow(ci, tap)] = g.offset(ci, tap / s.kernelW() * s.dilationH(), tap % s.kernelW());
            }
        }
        return off;
    }

    /** Inner offsets of the input gradient: q = co * kh * kw + tap reads dY channel co with the tap flipped. */
    static int[] backwardInputOffsets(Conv2dShape s, Geometry g) {
        int kk = s.kernelH() * s.kernelW();
        int[] off = new int[s.outChannels() * kk];
        for (int co = 0; co < s.outChannels(); co++) {
            for (int tap = 0; tap < kk; tap++) {
                int ky = tap / s.kernelW();
                int kx = tap % s.kernelW();
                off[co * kk + tap] = g.offset(co, (s.kernelH() - 1 - ky) * s.dilationH(), s.kernelW() - 1 - kx);
            }
        }
        return off;
    }

    /** W^T by input channel: wt [Cin, Cout * kh * kw], wt[ci][co * kk + tap] = W[co, (ci, tap)]. */
    static float[] transposeByChannel(Conv2dShape s, float[] w) {
        int kk = s.kernelH() * s.kernelW();
        int q = s.outChannels() * kk;
        float[] wt = new float[s.inChannels() * q];
        for (int co = 0; co < s.outChannels(); co++) {
            for (int ci = 0; ci < s.inChannels(); ci++) {
                for (int tap = 0; tap < kk; tap++) {
                    wt[ci * q + co * kk + tap] = w[co * s.k() + s.kRow(ci, tap)];
                }
            }
        }
        return wt;
    }

    /**
     * The kept entries of W regrouped by input channel for the input gradient, block-major over inner positions
     * q = co * kh * kw + tap in blocks of {@code VectorGemm.KB} (like {@link NmLayout.Gather}), each entry with
     * its operand offset {@code qOffset[q]}. Built from the row CSR in O(nnz); cached on the layout per offsets.
     */
    record ChannelGather(int outputs, int blocks, int[] ptr, int[] off, float[] val) {
        int blockBase(int b) {
            return b * (outputs + 1);
        }

        static ChannelGather of(Conv2dShape s, NmLayout l, int[] qOffset) {
            int kk = s.kernelH() * s.kernelW();
            int cin = s.inChannels();
            int bs = VectorGemm.KB;
            int nb = (s.outChannels() * kk + bs - 1) / bs;
            int[] rowPtr = l.rowPtr();
            int[] kIdx = l.kIndex();
            float[] vals = l.rowValues();
            int[] ci = new int[kIdx.length];
            int[] q = new int[kIdx.length];
            int[] ptr = new int[nb * (cin + 1) + 1];
            for (int co = 0; co < s.outChannels(); co++) {
                for (int e = rowPtr[co]; e < rowPtr[co + 1]; e++) {
                    int k = kIdx[e];
                    int c = s.channelMajorK() ? k % cin : k / kk;
                    int tap = s.channelMajorK() ? k / cin : k % kk;
                    ci[e] = c;
                    q[e] = co * kk + tap;
                    ptr[(q[e] / bs) * (cin + 1) + c + 1]++;
                }
            }
            // counts -> starts, block-major: block, then channel; each block's trailing pointer = next block's start
            int[] start = new int[nb * (cin + 1)];
            int e0 = 0;
            for (int b = 0; b < nb; b++) {
                for (int c = 0; c < cin; c++) {
                    start[b * (cin + 1) + c] = e0;
                    e0 += ptr[b * (cin + 1) + c + 1];
                }
                start[b * (cin + 1) + cin] = e0;
            }
            int[] fill = Arrays.copyOf(start, start.length);
            int[] off = new int[kIdx.length];
            float[] val = new float[kIdx.length];
            for (int e = 0; e < kIdx.length; e++) {
                int slot = fill[(q[e] / bs) * (cin + 1) + ci[e]]++;
                off[slot] = qOffset[q[e]];
                val[slot] = vals[e];
            }
            return new ChannelGather(cin, nb, start, off, val);
        }
    }

    /**
     * Pads groups [g0, g1) of {@code src} into the caller-thread buffer (from {@link VectorGemm.Workspace#ALIGN}
     * on, group g0 first) and returns it; the tasks then read it.
     */
    static float[] pad(Geometry g, float[] src, int g0, int g1, KernelThreads t) {
        Frame f = g.f();
        long size = VectorGemm.Workspace.ALIGN + (long) g.copies() * g.copyStride();
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("padded operand too large for int-indexed arrays: " + f);
        }
        float[] padded = VectorGemm.sharedPack((int) size);
        int base = VectorGemm.Workspace.ALIGN;
        int channels = f.channels();
        t.parallelFor((g1 - g0) * channels, task -> {
            int gi = task / channels;
            padChannel(g, src, g0 + gi, task % channels, padded, base + gi * g.groupFloats());
        });
        padSlack(g, padded, base, g1 - g0);
        return padded;
    }

    /** Pads channel c of image group {@code grp} (and its shifted copies) into the group's planes from {@code dst0}. */
    private static void padChannel(Geometry g, float[] src, int grp, int c, float[] padded, int dst0) {
        Frame f = g.f();
        int h = f.h();
        int w = f.w();
        int plane = g.plane();
        int dst = dst0 + c * plane;
        Arrays.fill(padded, dst, dst + plane, 0f);
        for (int j = 0; j < g.group(); j++) {
            int b = grp * g.group() + j;
            if (b >= f.batch()) {
                break;
            }
            int from = (f.image(b) * f.channels() + c) * h * w;
            int shift = f.firstRow(b) - f.top(); // source row of the band's padded row 0
            int x0 = dst + j * f.wp() + f.left() - shift * g.wrow();
            for (int y = Math.max(0, shift); y < Math.min(h, shift + f.hp()); y++) {
                System.arraycopy(src, from + y * w, padded, x0 + y * g.wrow(), w);
            }
        }
        for (int tx = 1; tx < g.copies(); tx++) { // copy tx: the plane shifted left by tx * dw
            int shift = tx * f.dw();
            int d = dst + tx * g.copyStride();
            System.arraycopy(padded, dst + shift, padded, d, plane - shift);
            Arrays.fill(padded, d + plane - shift, d + plane, 0f);
        }
    }

    /** Zeroes the {@link #SLACK} floats after the last of {@code groups} padded groups of each copy. */
    private static void padSlack(Geometry g, float[] padded, int base, int groups) {
        for (int tx = 0; tx < g.copies(); tx++) {
            int end = base + tx * g.copyStride() + groups * g.groupFloats();
            Arrays.fill(padded, end, end + SLACK, 0f);
        }
    }

    /** Dense: out [B, m, outH, outW] = a [m, inner] applied to the padded operand through {@code offsets}. */
    static void dense(Geometry g, float[] src, float[] a, int m, int[] offsets, float[] out, KernelThreads t) {
        int k = offsets.length;
        panels(g, src, VectorGemm.panels(g.cols(), false), m, VectorGemm.MR, out, t, (padded, bo, r0, r1, pw, acc, accOff) -> {
            for (int kb0 = 0; kb0 < k; kb0 += VectorGemm.KD) {
                int kb1 = Math.min(k, kb0 + VectorGemm.KD);
                VectorGemm.denseSlab(a, k, 1, kb0, kb1, r0, r1, padded, bo, offsets, acc, accOff);
            }
        });
    }

    /** N:M: out [B, outputs, outH, outW] from block-major entries with operand offsets. */
    static void gather(Geometry g, float[] src, int nOut, int nb, int[] ptr, int[] off, float[] val, float[] out,
                       KernelThreads t) {
        panels(g, src, VectorGemm.panels(g.cols(), true), nOut, NmLayout.LOCKSTEP_ROWS, out, t,
                (padded, bo, o0, o1, pw, acc, accOff) -> {
                    for (int blk = 0; blk < nb; blk++) {
                        int pb = blk * (nOut + 1);
                        switch (pw / VectorGemm.L) {
                            case 8 -> { // one row at a time: 8 accumulators hide the latency, rows need not pair up
                                for (int o = o0; o < o1; o++) {
                                    NmGatherKernels.drow8(off, val, ptr[pb + o], ptr[pb + o + 1], bo, padded, acc,
                                            accOff + (o - o0) * pw);
                                }
                            }
                            case 4 -> NmGatherKernels.dgather4(ptr, pb, off, val, o0, o1, bo, padded, acc, accOff);
                            case 2 -> NmGatherKernels.dgather2(ptr, pb, off, val, o0, o1, bo, padded, acc, accOff);
                            default -> NmGatherKernels.dgather1(ptr, pb, off, val, o0, o1, bo, padded, acc, accOff);
                        }
                    }
                });
    }

    /** The product of one task: rows [r0, r1) of a panel {@code pw} columns wide whose first column is at {@code bo}. */
    private interface PanelProduct {
        void run(float[] padded, int bo, int r0, int r1, int pw, float[] acc, int accOff);
    }

    /**
     * Runs {@code product} over every (image group, column panel of {@code plan}, row chunk) of the padded operand,
     * each on zeroed accumulators in its workspace, and writes the finished panels into out [B, rows, outH, outW]:
     * one task per image group padded in its own workspace if {@link Geometry#local}, else chunk of groups by
     * chunk.
     */
    private static void panels(Geometry g, float[] src, int[] plan, int rows, int align, float[] out, KernelThreads t,
                               PanelProduct product) {
        int perGroup = plan.length / 2;
        if (g.local()) {
            int padFloats = g.copies() * g.copyStride();
            int maxPw = 0;
            for (int p = 0; p < perGroup; p++) {
                maxPw = Math.max(maxPw, plan[2 * p + 1]);
            }
            int accFloats = rows * maxPw;
            TailSplit split = TailSplit.of(g.groups(), t.threads(), perGroup);
            t.parallelFor(split.tasks(), task -> {
                int grp = split.group(task);
                VectorGemm.Workspace ws = VectorGemm.workspace();
                float[] padded = ws.data;
                int base = ws.slab();
                for (int c = 0; c < g.f().channels(); c++) {
                    padChannel(g, src, grp, c, padded, base);
                }
                padSlack(g, padded, base, 1);
                float[] acc = ws.acc(padFloats, accFloats);
                int accOff = ws.accOffset(padFloats, accFloats);
                for (int p = split.firstPanel(task); p < split.endPanel(task); p++) {
                    int c0 = plan[2 * p];
                    int pw = plan[2 * p + 1];
                    Arrays.fill(acc, accOff, accOff + rows * pw, 0f);
                    product.run(padded, base + c0, 0, rows, pw, acc, accOff);
                    scatter(g, rows, acc, accOff, pw, 0, rows, grp, c0, out);
                }
            });
            return;
        }
        inChunks(g, src, t, (padded, g0, g1) -> {
            int panels = (g1 - g0) * perGroup;
            int chunk = VectorGemm.rowChunk(rows, panels, t.threads(), align);
            int chunks = (rows + chunk - 1) / chunk;
            t.parallelFor(panels * chunks, task -> {
                int p = task / chunks;
                int gi = p / perGroup;
                int c0 = plan[2 * (p % perGroup)];
                int pw = plan[2 * (p % perGroup) + 1];
                int r0 = (task % chunks) * chunk;
                int r1 = Math.min(rows, r0 + chunk);
                VectorGemm.Workspace ws = VectorGemm.workspace();
                int accFloats = (r1 - r0) * pw;
                float[] acc = ws.acc(0, accFloats);
                int accOff = ws.accOffset(0, accFloats);
                Arrays.fill(acc, accOff, accOff + accFloats, 0f);
                product.run(padded, VectorGemm.Workspace.ALIGN + gi * g.groupFloats() + c0, r0, r1, pw, acc, accOff);
                scatter(g, rows, acc, accOff, pw, r0, r1, g0 + gi, c0, out);
            });
        });
    }

    /**
     * The image-parallel tasks of {@link #panels}: one per image group, except that the groups left over after the
     * last full round ({@code groups % threads}) are each split into {@code threads} tasks (at most one per panel)
     * over ranges of their panels, so that the threads finish together instead of one of them running the last
     * groups alone (64x7 maps at batch 32 on two threads: 7 images a row, 5 groups). Every task of a split group
     * pads the whole group into its own workspace; the tasks come in group order, the split ones last.
     */
    record TailSplit(int whole, int parts, int panels, int tasks) {

        static TailSplit of(int groups, int threads, int panels) {
            int tail = groups % threads;
            int parts = tail == 0 || groups < threads ? 1 : Math.min(threads, panels);
            int whole = parts == 1 ? groups : groups - tail;
            return new TailSplit(whole, parts, panels, whole + (groups - whole) * parts);
        }

        int group(int task) {
            return task < whole ? task : whole + (task - whole) / parts;
        }

        int firstPanel(int task) {
            return task < whole ? 0 : panels * ((task - whole) % parts) / parts;
        }

        int endPanel(int task) {
            return task < whole ? panels : panels * ((task - whole) % parts + 1) / parts;
        }
    }

    /**
     * Dense weight gradient into dw [Cout, K] (overwritten): dW^T [K, Cout] is the sum over images of the padded
     * image's rows (A, row k read in place from {@code kOffset[k]}, as the forward reads them) times dY^T in the
     * same column numbering (B: dY with zeros at the dropped columns {@code Wo..Wp-1} of each row, packed slab by
     * slab). No im2col: the reduction runs over each image's columns straight from the padded copy. Image-parallel
     * when the layout says so ({@link Geometry#local}) and the tasks' partial sums of dW fit
     * {@link #DW_PARTIAL_FLOATS} ({@link #backwardWeightByImages}: 1.34-1.37x faster than the chunks on two threads
     * at ResNet-20's 16x28 and 32x14 shapes, batch 32, 1.04-1.15x on 64x7 and 64x56); otherwise the batch is
     * padded a shared chunk at a time and the tasks are row chunks of K x panels of Cout, each accumulating over
     * all images.
     */
    static void backwardWeight(Conv2dShape s, float[] input, float[] dOut, float[] dw, KernelThreads t) {
        long partials = (long) Math.min(t.threads(), s.batch()) * s.k()
                * ((s.outChannels() + VectorGemm.PD - 1) / VectorGemm.PD * VectorGemm.PD);
        // one image a row: groups are images; threads 0 (chunked) when the partial sums would not fit
        Geometry g = Geometry.of(Frame.forward(s), false, partials <= DW_PARTIAL_FLOATS ? t.threads() : 0);
        DwLayout d = DwLayout.of(s, g);
        if (g.local()) {
            backwardWeightByImages(s, g, d, input, dOut, dw, t);
            return;
        }
        int k = d.k();
        int cout = d.cout();
        int cols = d.cols();
        int pd = VectorGemm.PD;
        int chunk = VectorGemm.rowChunk(k, d.panels(), t.threads(), VectorGemm.MR);
        int chunks = (k + chunk - 1) / chunk;
        float[][] acc = new float[d.panels() * chunks][];
        inChunks(g, input, t, (padded, g0, g1) -> {
            int images = g1 - g0;
            float[] dyw = VectorGemm.buffer(0, images * cout * cols); // slot 0: only this method uses it
            t.parallelFor(images * cout, task -> // dY of image g0 + task / cout, channel task % cout
                    d.dyInColumns(dOut, g0 + task / cout, task % cout, dyw, task * cols));
            t.parallelFor(d.panels() * chunks, task -> {
                int c0 = (task / chunks) * pd;
                int r0 = (task % chunks) * chunk;
                int r1 = Math.min(k, r0 + chunk);
                if (acc[task] == null) {
                    acc[task] = new float[(r1 - r0) * pd];
                }
                VectorGemm.Workspace ws = VectorGemm.workspace();
                float[] xp = ws.data;
                int slab = ws.slab();
                for (int b = 0; b < images; b++) {
                    int dyBase = b * cout * cols;
                    int aBase = VectorGemm.Workspace.ALIGN + b * g.groupFloats();
                    for (int j0 = 0; j0 < cols; j0 += VectorGemm.KD) {
                        int j1 = Math.min(cols, j0 + VectorGemm.KD);
                        // slab [j1 - j0, PD]: row j holds dY(c0 .. c0 + PD) at column j, zero past Cout
                        VectorGemm.packSlabTransposed(dyw, dyBase, cols, cout, j0, j1, c0, pd, xp, slab);
                        VectorGemm.denseSlab(padded, aBase, d.kOffset(), 0, 1, j0, j1, r0, r1, xp, slab - j0 * pd,
                                d.rowsPd(), acc[task], 0);
                    }
                }
            });
        });
        for (int task = 0; task < d.panels() * chunks; task++) {
            int c0 = (task / chunks) * pd;
            int r0 = (task % chunks) * chunk;
            int r1 = Math.min(k, r0 + chunk);
            for (int r = r0; r < r1; r++) {
                for (int c = c0; c < Math.min(cout, c0 + pd); c++) {
                    dw[c * k + r] = acc[task][(r - r0) * pd + c - c0];
                }
            }
        }
    }

    /**
     * What both weight-gradient schedules derive from the shape and its one-image-a-row layout: the A rows' offsets
     * ({@link #forwardOffsets}), K, Cout, the layout's columns, the output row width and size, the Cout panels of
     * {@link VectorGemm#PD} and the packed slab's row offsets.
     */
    private record DwLayout(Conv2dShape s, Geometry g, int[] kOffset, int k, int cout, int cols, int panels,
                            int[] rowsPd) {

        static DwLayout of(Conv2dShape s, Geometry g) {
            int cout = s.outChannels();
            return new DwLayout(s, g, forwardOffsets(s, g), s.k(), cout, g.cols(),
                    (cout + VectorGemm.PD - 1) / VectorGemm.PD, VectorGemm.panelRows(g.cols()));
        }

        /** Channel {@code co} of image {@code b}'s dY numbered like the columns into {@code dyw[at, at + cols)}. */
        void dyInColumns(float[] dOut, int b, int co, float[] dyw, int at) {
            int hw = s.outHeight() * s.outWidth();
            DirectConv.dyInColumns(dOut, (b * cout + co) * hw, s.outWidth(), g.wrow(), cols, dyw, at);
        }
    }

    /**
     * {@link #backwardWeight} image-parallel ({@link Geometry#local}): the images are split into one contiguous range
     * per thread; a task pads each of its images into its own workspace, numbers its dY like the columns, and adds
     * the image's whole dW^T [K, Cout] into the task's accumulator (every panel, every row: nothing is packed or
     * read twice across tasks); the tasks' accumulators are summed at the end, in task order.
     */
    private static void backwardWeightByImages(Conv2dShape s, Geometry g, DwLayout d, float[] input, float[] dOut,
                                               float[] dw, KernelThreads t) {
        int k = d.k();
        int cout = d.cout();
        int cols = d.cols();
        int pd = VectorGemm.PD;
        int images = s.batch();
        int tasks = Math.min(t.threads(), images);
        float[][] acc = new float[tasks][];
        int padFloats = g.copyStride();
        t.parallelFor(tasks, task -> {
            float[] sum = new float[d.panels() * k * pd];
            acc[task] = sum;
            VectorGemm.Workspace ws = VectorGemm.workspace();
            float[] data = ws.data;
            int base = ws.slab();
            int slab = base + VectorGemm.Workspace.roundUp(padFloats);
            float[] dyw = VectorGemm.buffer(0, cout * cols); // slot 0: only the weight gradient uses it
            for (int b = images * task / tasks; b < images * (task + 1) / tasks; b++) {
                for (int c = 0; c < s.inChannels(); c++) {
                    padChannel(g, input, b, c, data, base);
                }
                padSlack(g, data, base, 1);
                for (int co = 0; co < cout; co++) {
                    d.dyInColumns(dOut, b, co, dyw, co * cols);
                }
                for (int p = 0; p < d.panels(); p++) {
                    for (int j0 = 0; j0 < cols; j0 += VectorGemm.KD) {
                        int j1 = Math.min(cols, j0 + VectorGemm.KD);
                        VectorGemm.packSlabTransposed(dyw, 0, cols, cout, j0, j1, p * pd, pd, data, slab);
                        VectorGemm.denseSlab(data, base, d.kOffset(), 0, 1, j0, j1, 0, k, data, slab - j0 * pd,
                                d.rowsPd(), sum, p * k * pd);
                    }
                }
            }
        });
        for (int c = 0; c < cout; c++) {
            int p = c / pd;
            for (int r = 0; r < k; r++) {
                float v = 0f;
                for (float[] a : acc) {
                    v += a[(p * k + r) * pd + c - p * pd];
                }
                dw[c * k + r] = v;
            }
        }
    }

    /**
     * One channel of dY (output rows of {@code wo} from {@code dOut[src]}) numbered like the direct convolution's
     * columns ({@code oy * wp + ox}, zero at the dropped columns) into {@code dyw[d, d + cols)}.
     */
    private static void dyInColumns(float[] dOut, int src, int wo, int wp, int cols, float[] dyw, int d) {
        Arrays.fill(dyw, d, d + cols, 0f);
        for (int oy = 0; oy * wp < cols; oy++) {
            System.arraycopy(dOut, src + oy * wo, dyw, d + oy * wp, wo);
        }
    }

    /** A chunk of image groups [g0, g1), padded. */
    private interface Chunk {
        void run(float[] padded, int g0, int g1);
    }

    /** Pads the image groups a chunk at a time and runs {@code body} on each right after (while it is in cache). */
    private static void inChunks(Geometry g, float[] src, KernelThreads t, Chunk body) {
        int groups = g.groups();
        for (int g0 = 0; g0 < groups; g0 += g.chunkGroups()) {
            int g1 = Math.min(groups, g0 + g.chunkGroups());
            body.run(pad(g, src, g0, g1, t), g0, g1);
        }
    }

    /** Dense forward into output [B, Cout, Ho, Wo]. */
    static void forward(Conv2dShape s, float[] input, float[] weight, float[] output, KernelThreads t) {
        Geometry g = Geometry.of(Frame.forward(s), false, t.threads());
        dense(g, input, weight, s.outChannels(), forwardOffsets(s, g), output, t);
    }

    /** N:M forward into output [B, Cout, Ho, Wo]. */
    static void forward(Conv2dShape s, float[] input, NmMatrix weight, float[] output, KernelThreads t) {
        Geometry g = Geometry.of(Frame.forward(s), true, t.threads());
        NmLayout.Gather r = weight.layout().rowGather(VectorGemm.KB);
        int[] kOffset = forwardOffsets(s, g);
        int[] off = weight.layout().derived(new DerivedKey("rows", s.withBatch(1), kOffset), l -> rowOffsets(r, kOffset));
        gather(g, input, r.outputs(), r.blocks(), r.ptr(), off, r.val(), output, t);
    }

    /** Dense input gradient into dInput [B, Cin, H, W]. */
    static void backwardInput(Conv2dShape s, float[] dOut, float[] weight, float[] dInput, KernelThreads t) {
        Geometry g = Geometry.of(Frame.backwardInput(s), false, t.threads());
        dense(g, dOut, transposeByChannel(s, weight), s.inChannels(), backwardInputOffsets(s, g), dInput, t);
    }

    /** N:M input gradient into dInput [B, Cin, H, W]. */
    static void backwardInput(Conv2dShape s, float[] dOut, NmMatrix weight, float[] dInput, KernelThreads t) {
        Geometry g = Geometry.of(Frame.backwardInput(s), true, t.threads());
        int[] qOffset = backwardInputOffsets(s, g);
        ChannelGather c = weight.layout().derived(new DerivedKey("channels", s.withBatch(1), qOffset),
                l -> ChannelGather.of(s, l, qOffset));
        gather(g, dOut, c.outputs(), c.blocks(), c.ptr(), c.off(), c.val(), dInput, t);
    }

    /**
     * The entries of a row {@link NmLayout.Gather} as operand offsets: entry e of block b reads K position
     * {@code b * KB + idx[e]}, at {@code kOffset} of it.
     */
    static int[] rowOffsets(NmLayout.Gather g, int[] kOffset) {
        int[] off = new int[g.idx().length];
        for (int b = 0; b < g.blocks(); b++) {
            for (int e = g.ptr()[g.blockBase(b)]; e < g.ptr()[g.blockBase(b) + g.outputs()]; e++) {
                off[e] = kOffset[b * VectorGemm.KB + g.idx()[e]];
            }
        }
        return off;
    }

    /**
     * Key of the layouts this class derives from an {@link NmLayout} ({@link NmLayout#derived}): which one, the shape
     * (batch 1) and the operand offsets it was laid out for, by content.
     */
    private record DerivedKey(String kind, Conv2dShape shape, int[] offsets) {
        @Override
        public boolean equals(Object o) {
            return o instanceof DerivedKey d && d.kind.equals(kind) && d.shape.equals(shape) && Arrays.equals(d.offsets, offsets);
        }

        @Override
        public int hashCode() {
            return (kind.hashCode() * 31 + shape.hashCode()) * 31 + Arrays.hashCode(offsets);
        }
    }

    /**
     * Writes accumulator rows [r0, r1) (panel columns [c0, c0 + pw) of group {@code grp}, {@code pw} floats a row
     * from {@code aOff}) into out [B, rows, outH, outW], dropping the columns past each image's output row.
     */
    static void scatter(Geometry g, int rows, float[] acc, int aOff, int pw, int r0, int r1, int grp, int c0,
                        float[] out) {
        Frame f = g.f();
        int wrow = g.wrow();
        int wo = f.outW();
        int hw = f.fullOutH() * wo;
        int c1 = Math.min(c0 + pw, g.cols());
        for (int oy = c0 / wrow; oy * wrow < c1; oy++) {
            for (int j = 0; j < g.group(); j++) {
                int b = grp * g.group() + j;
                int start = oy * wrow + j * f.wp(); // column of (oy, ox = 0) of image (band) b
                int j0 = Math.max(c0, start);
                int j1 = Math.min(c1, start + wo);
                int y = f.firstRow(b) + oy; // the output row in the image
                if (b >= f.batch() || j0 >= j1 || y >= f.fullOutH()) {
                    continue;
                }
                int dst = y * wo + (j0 - start);
                for (int r = r0; r < r1; r++) {
                    System.arraycopy(acc, aOff + (r - r0) * pw + (j0 - c0), out, (f.image(b) * rows + r) * hw + dst, j1 - j0);
                }
            }
        }
    }
}
