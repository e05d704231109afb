package io.sparsetrain.kernels.vector;

import io.sparsetrain.kernels.Conv2dShape;
import io.sparsetrain.kernels.KernelThreads;
import io.sparsetrain.kernels.NmLayout;
import io.sparsetrain.kernels.NmMatrix;
import java.util.Arrays;

/**
 * The N:M weight gradient of a stride-1 convolution at the kept positions only, straight from zero-padded copies of
 * the input: the pattern-grouped kernels ({@link NmGroupedWeightGradKernels}) with X's rows read in place from a
 * stack of padded images instead of from an im2col matrix.
 *
 * <p>Layout. A stack of {@code bc} images is padded channel by channel into rows of {@code wq} floats, image after
 * image {@code hq} rows apart: input pixel (y, x) of image j, channel c, at
 * {@code c * chanFloats + (padH + j * hq + y) * wq + padW + x}. Where the output fits, {@code wq = W + padW} and
 * {@code hq = H + padH}: the zeros after one row's data are the right padding of that row and the left padding of
 * the next, and likewise between images, so the padding is stored once (ResNet-20's 7x7 maps: 64 columns an image
 * where [hp, wp] planes would take 81, for 49 outputs). Output position (oy, ox) of image j is virtual column
 * {@code v = j * hq * wq + oy * wq + ox}, and K position (ci, ky, kx) is the row starting at
 * {@code ci * chanFloats + ky * dh * wq + kx * dw}: its value at column v is the padded input under tap (ky, kx) of
 * that output position. So one row runs through all the stacked images, and the kernels' accumulators stay in
 * registers across images: a 7x7 map is 55 columns an image, too few to amortise a reduction per image.
 * dY is stacked the same way ([Cout, columns], zero at the columns no output position has).
 *
 * <p>Work: image-parallel. The images are split into one contiguous range per thread; a task pads a stack at a time
 * into its workspace, stacks dY likewise, and runs every group's pattern lists tile by tile
 * ({@link NmGroupedWeightGrad#TILE} columns) into its own slot sums (the first task into the result), which are
 * added at the end in task order. A stack holds as many images as fit {@link #STACK_FLOATS} with their dY (at
 * least one, and at least a tile's worth of columns). Every pattern list rereads the tile's dY rows;
 * {@link VectorGemm#directBackwardWeight(Conv2dShape, NmMatrix)} routes layers past 256 output channels to the dense
 * product.
 *
 * <p>Measured against the dense direct product with the kept entries taken from it (A/B in one JVM, batch 32,
 * BENCHMARKS.md session 13): 2:4 on ResNet-20's 16x28 / 32x14 / 64x7 convolutions 2.34 / 1.33 / 1.31x faster on
 * one thread, 1.97 / 1.20 / 1.38x on two; 64x56 1.13-1.18x. With stacks of at least a tile of columns (second
 * A/B): 128 channels (28x28) 1.32x, 256 (14x14) 1.11 / 1.40x, 512 (7x7) 1.18 / 0.86x on one / two threads. The
 * dense gradient through {@link #runDense}: 1.57x the register tile at 16 channels, 0.53-0.84x at 32-128.
 */
final class DirectNmWeightGrad {

    static final int L = VectorGemm.L;
    /**
     * Most floats of one stack (padded input plus stacked dY): 512 KiB, within L2 while it is read; stacks of wide
     * layers hold at least a tile of columns even past it.
     */
    static final int STACK_FLOATS = 1 << 17;

    private DirectNmWeightGrad() {
    }

    /**
     * The stack geometry of a shape: {@code bc} images per stack; rows of {@code wq} floats, images {@code hq} rows
     * apart; {@code chanFloats} per channel; the X row offset of every K position.
     */
    record Stack(int bc, int hq, int wq, int chanFloats, int[] kOffset) {

        static Stack of(Conv2dShape s, int imagesPerTask) {
            int hq = pitch(s.height(), s.padH(), s.outHeight());
            int wq = pitch(s.width(), s.padW(), s.outWidth());
            long perImage = (long) (s.inChannels() + s.outChannels()) * hq * wq;
            // whole images only; at least one, and the padded input within the workspace (supports(s))
            // as many images as fit STACK_FLOATS, but at least a tile's worth of columns: with fewer, a stack of
            // wide layers (512 x 7x7: 2 images, 119 columns) paid a reduction every few vectors
            long budget = Math.max(STACK_FLOATS / perImage,
                    (NmGroupedWeightGrad.TILE + (long) hq * wq - 1) / ((long) hq * wq));
            int bc = (int) Math.max(1, Math.min(Math.min(imagesPerTask, budget),
                    (VectorGemm.Workspace.FLOATS - VectorGemm.Workspace.ALIGN - s.inChannels() * (long) (s.padH() * wq + s.padW()))
                            / ((long) s.inChannels() * hq * wq)));
            int chanFloats = (bc * hq + s.padH()) * wq + s.padW();
            int kk = s.kernelH() * s.kernelW();
            int[] kOffset = new int[s.k()];
            for (int ci = 0; ci < s.inChannels(); ci++) {
                for (int tap = 0; tap < kk; tap++) {
                    int ky = tap / s.kernelW();
                    int kx = tap % s.kernelW();
                    kOffset[s.kRow(ci, tap)] = ci * chanFloats + ky * s.dilationH() * wq + kx * s.dilationW();
                }
            }
            return new Stack(bc, hq, wq, chanFloats, kOffset);
        }

        /**
         * Row pitch along one axis: source {@code n} plus the padding once when the output fits it (the zeros after
         * one row's data are the right padding of that row and the left padding of the next), else twice.
         */
        static int pitch(int n, int pad, int out) {
            return out <= n + pad ? n + pad : n + 2 * pad;
        }

        /** Virtual columns of a stack of {@code images}: the last image's last output position + 1. */
        int cols(Conv2dShape s, int images) {
            return (images - 1) * hq * wq + (s.outHeight() - 1) * wq + s.outWidth();
        }
    }

    /** Whether {@link #run} handles the shape: stride 1, and one image's padded input fits a workspace. */
    static boolean supports(Conv2dShape s) {
        if (!DirectConv.supportsForward(s)) {
            return false;
        }
        long hq = Stack.pitch(s.height(), s.padH(), s.outHeight());
        long wq = Stack.pitch(s.width(), s.padW(), s.outWidth());
        long oneImage = (hq + s.padH()) * wq + s.padW(); // chanFloats of a stack of one
        return VectorGemm.Workspace.ALIGN + s.inChannels() * oneImage <= VectorGemm.Workspace.FLOATS
                && s.outChannels() * hq * wq <= Integer.MAX_VALUE / 2;
    }

    /** dwSlots [0, w.slots()) = the weight gradient at w's kept positions (argument checks by the caller). */
    static void run(Conv2dShape s, float[] input, float[] dOut, NmMatrix w, float[] dwSlots, KernelThreads t) {
        run(s, input, dOut, w.layout().groupedLayout(), dwSlots, w.slots(), t);
    }

    /**
     * The dense weight gradient dw [Cout, K] (overwritten) with the same kernels: every row keeps every position of
     * every group of 4 ({@link #denseLayout}), so a block of 6 rows shares each of the group's 4 X vectors and each
     * row's dY vector serves 4 positions: 10 loads per 24 FMAs, where the dense register tile needs 10 per 16 and,
     * 2 vectors (32 output channels) wide, wastes half of them at 16 channels.
     */
    static void runDense(Conv2dShape s, float[] input, float[] dOut, float[] dw, KernelThreads t) {
        run(s, input, dOut, denseLayout(s.outChannels(), s.k()), dw, s.weightSize(), t);
    }

    /**
     * A {@link NmLayout.GroupedLayout} in which all {@code rows} keep all K positions: one pattern list per group of
     * 4 (the last one shorter when 4 does not divide K) holding every row, with slots {@code row * K + 4g}, i.e. the
     * dense [rows, K] layout.
     */
    static NmLayout.GroupedLayout denseLayout(int rows, int k) {
        int m = 4;
        int groups = (k + m - 1) / m;
        int[] groupPtr = new int[groups + 1];
        int[] listPtr = new int[groups + 1];
        int[] listKept = new int[groups];
        int[] listK = new int[groups * m];
        int[] rowOf = new int[groups * rows];
        int[] slot = new int[groups * rows];
        for (int g = 0; g < groups; g++) {
            groupPtr[g + 1] = g + 1;
            listPtr[g + 1] = (g + 1) * rows;
            listKept[g] = Math.min(m, k - g * m);
            for (int j = 0; j < m; j++) {
                listK[g * m + j] = j < listKept[g] ? g * m + j : -1;
            }
            for (int r = 0; r < rows; r++) {
                rowOf[g * rows + r] = r;
                slot[g * rows + r] = r * k + g * m;
            }
        }
        return new NmLayout.GroupedLayout(m, groups, groupPtr, listPtr, listKept, listK, rowOf, slot);
    }

    /** dwSlots [0, slots) = the sampled product dY X^T at the slots of {@code gl} (overwritten). */
    private static void run(Conv2dShape s, float[] input, float[] dOut, NmLayout.GroupedLayout gl, float[] dwSlots,
                            int slots, KernelThreads t) {
        if (!supports(s)) {
            throw new IllegalArgumentException("direct N:M weight gradient needs stride 1 and a padded image within "
                    + VectorGemm.Workspace.FLOATS + " floats: " + s);
        }
        int images = s.batch();
        int tasks = Math.min(t.threads(), images);
        Stack st = Stack.of(s, (images + tasks - 1) / tasks);
        float[][] sums = new float[tasks][];
        t.parallelFor(tasks, task -> {
            float[] sum = task == 0 ? dwSlots : new float[slots];
            Arrays.fill(sum, 0, slots, 0f);
            sums[task] = sum;
            for (int b0 = images * task / tasks, end = images * (task + 1) / tasks; b0 < end; b0 += st.bc()) {
                stack(s, st, gl, input, dOut, b0, Math.min(end, b0 + st.bc()), sum);
            }
        });
        for (int task = 1; task < tasks; task++) {
            float[] sum = sums[task];
            for (int i = 0; i < slots; i++) {
                dwSlots[i] += sum[i];
            }
        }
    }

    /** Adds the gradient of images [b0, b1) (one stack) into {@code dw}'s slots. */
    private static void stack(Conv2dShape s, Stack st, NmLayout.GroupedLayout gl, float[] input, float[] dOut, int b0,
                              int b1, float[] dw) {
        int n = b1 - b0;
        int hq = st.hq();
        int wq = st.wq();
        int img = hq * wq;
        int h = s.height();
        int wd = s.width();
        int cin = s.inChannels();
        int cout = s.outChannels();
        int cols = st.cols(s, n);
        int chan = st.chanFloats();
        VectorGemm.Workspace ws = VectorGemm.workspace();
        float[] x = ws.data;
        int xBase = ws.slab();
        Arrays.fill(x, xBase, xBase + cin * chan, 0f);
        for (int c = 0; c < cin; c++) {
            for (int j = 0; j < n; j++) {
                int from = ((b0 + j) * cin + c) * h * wd;
                int to = xBase + c * chan + (s.padH() + j * hq) * wq + s.padW();
                for (int y = 0; y < h; y++) {
                    System.arraycopy(input, from + y * wd, x, to + y * wq, wd);
                }
            }
        }
        int ho = s.outHeight();
        int wo = s.outWidth();
        float[] dy = VectorGemm.buffer(1, cout * cols); // slot 1: only this method uses it
        Arrays.fill(dy, 0, cout * cols, 0f);
        for (int co = 0; co < cout; co++) {
            for (int j = 0; j < n; j++) {
                int from = ((b0 + j) * cout + co) * ho * wo;
                int to = co * cols + j * img;
                for (int oy = 0; oy < ho; oy++) {
                    System.arraycopy(dOut, from + oy * wo, dy, to + oy * wq, wo);
                }
            }
        }
        accumulate(gl, st.kOffset(), x, xBase, dy, cols, dw);
    }

    /**
     * dw's slots += the sampled product of dy [rows, cols] and X, whose row k starts at {@code x[xBase + kOffset[k]]},
     * tile by tile of {@link NmGroupedWeightGrad#TILE} columns, every group's pattern lists in balanced blocks.
     */
    static void accumulate(NmLayout.GroupedLayout gl, int[] kOffset, float[] x, int xBase, float[] dy, int cols,
                           float[] dw) {
        int lists = gl.lists();
        int[] listPtr = gl.listPtr();
        int tile = Math.min(NmGroupedWeightGrad.TILE, (cols + L - 1) / L * L);
        for (int c0 = 0; c0 < cols; c0 += tile) {
            int c1 = Math.min(cols, c0 + tile);
            int v1 = c0 + (c1 - c0) / L * L; // vectors in [c0, v1), scalar tail [v1, c1)
            for (int l = 0; l < lists; l++) {
                NmGroupedWeightGrad.list(gl, l, listPtr[l], listPtr[l + 1], dy, x, xBase, kOffset, cols, c0, v1, c1, dw);
            }
        }
    }
}
