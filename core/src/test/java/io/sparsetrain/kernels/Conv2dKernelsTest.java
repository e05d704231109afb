package io.sparsetrain.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.kernels.vector.DirectConvTest;
import io.sparsetrain.kernels.vector.VectorGemm;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The convolutions (dense and N:M, scalar and vector; the vector kernels' direct stride-1 path and their im2col path)
 * against plain convolution loops.
 */
class Conv2dKernelsTest {

    static final KernelThreads TWO = new KernelThreads(2);

    @AfterAll
    static void close() {
        TWO.close();
    }

    static Stream<Conv2dShape> shapes() {
        return Stream.of(
                Conv2dShape.of(2, 3, 7, 6, 5, 3, 1, 1),
                Conv2dShape.of(1, 1, 1, 1, 1, 1, 1, 0),
                Conv2dShape.of(3, 4, 9, 9, 6, 3, 2, 1),
                Conv2dShape.of(2, 16, 8, 8, 16, 3, 1, 1),
                Conv2dShape.of(1, 5, 11, 7, 3, 1, 1, 0),
                Conv2dShape.builder().batch(2).input(3, 10, 9).outChannels(4).kernel(3, 2).stride(2, 1)
                        .padding(2, 1).dilation(2, 3).build(),
                Conv2dShape.builder().batch(1).input(2, 6, 13).outChannels(7).kernel(5, 5).stride(3, 2)
                        .padding(0, 2).build(),
                // stride 1 (the direct path) with dilation, unequal padding, several column panels per image
                Conv2dShape.builder().batch(2).input(5, 12, 17).outChannels(9).kernel(3, 3).stride(1, 1)
                        .padding(2, 1).dilation(2, 1).build(),
                Conv2dShape.builder().batch(1).input(4, 5, 4).outChannels(3).kernel(1, 3).stride(1, 1)
                        .padding(0, 0).build(),
                // direct N:M layout with 5 images a row (Wp = 9), the second group of two
                Conv2dShape.of(7, 3, 7, 7, 6, 3, 1, 1),
                // direct N:M layout with dilated shifted copies (Wp = 16)
                Conv2dShape.builder().batch(3).input(4, 14, 12).outChannels(5).kernel(3, 3).stride(1, 1)
                        .padding(2, 2).dilation(2, 2).build(),
                // padded images prepared in two chunks
                Conv2dShape.of(3, 64, 30, 30, 8, 3, 1, 1),
                // padding beyond the kernel's reach: direct forward, input gradient through col2im
                Conv2dShape.of(2, 3, 5, 5, 4, 1, 1, 1),
                // a 1-wide input whose first kernel column lies wholly in the padding (im2col read index -1)
                Conv2dShape.builder().batch(2).input(2, 3, 1).outChannels(3).kernel(3, 3).stride(1, 1)
                        .padding(2, 2).dilation(2, 2).build());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void denseAndNmMatchDirectConvolution(Conv2dShape s) {
        SplittableRandom rnd = new SplittableRandom(s.toString().hashCode());
        float[] input = TestData.random(rnd, s.inputSize());
        float[] wDense = TestData.random(rnd, s.weightSize());
        float[] dOut = TestData.random(rnd, s.outputSize());
        NmMatrix nm = NmMatrix.fromDense(wDense, TestData.nmMask(rnd, s.outChannels(), s.k(), 2, 4, false), s.outChannels(), s.k(), 2, 4);
        float[] wPruned = nm.toDense();
        float[] mask = nm.mask();

        float[] yDirect = directForward(s, input, wDense);
        float[] dxDirect = directBackwardInput(s, dOut, wDense);
        float[] dwDirect = directBackwardWeight(s, input, dOut);
        float[] yPrunedDirect = directForward(s, input, wPruned);
        float[] dxPrunedDirect = directBackwardInput(s, dOut, wPruned);
        float[] dwMasked = new float[dwDirect.length];
        for (int i = 0; i < dwMasked.length; i++) {
            dwMasked[i] = dwDirect[i] * mask[i];
        }

        for (String direct : new String[] {"true", "false"})
        for (Conv2dKernels conv : new Conv2dKernels[] {
                new Conv2dKernels(new ScalarGemm(), new KernelThreads(1)),
                new Conv2dKernels(KernelProvider.vector(TWO), TWO)}) {
            String name = conv.gemm().name() + (direct.equals("true") ? "" : " (im2col only)");
            withProperty(Conv2dKernels.DIRECT_PROPERTY, direct, () -> {
            GemmKernelsTest.assertClose(yDirect, conv.forward(s, input, wDense), name + " dense forward");
            GemmKernelsTest.assertClose(dxDirect, conv.backwardInput(s, dOut, wDense), name + " dense backwardInput");
            GemmKernelsTest.assertClose(dwDirect, conv.backwardWeight(s, input, dOut), name + " dense backwardWeight");
            GemmKernelsTest.assertClose(yPrunedDirect, conv.forward(s, input, nm), name + " 2:4 forward");
            GemmKernelsTest.assertClose(dxPrunedDirect, conv.backwardInput(s, dOut, nm), name + " 2:4 backwardInput");
            GemmKernelsTest.assertClose(dwMasked, conv.backwardWeightDense(s, input, dOut, nm), name + " 2:4 backwardWeight");
            // into a caller's buffer holding NaN: every entry must be written
            GemmKernelsTest.assertClose(yDirect, into(s.outputSize(), y -> conv.forward(s, input, wDense, y)), name + " dense forward into a buffer");
            GemmKernelsTest.assertClose(yPrunedDirect, into(s.outputSize(), y -> conv.forward(s, input, nm, y)), name + " 2:4 forward into a buffer");
            GemmKernelsTest.assertClose(dxDirect, into(s.inputSize(), dx -> conv.backwardInput(s, dOut, wDense, dx)), name + " dense backwardInput into a buffer");
            GemmKernelsTest.assertClose(dxPrunedDirect, into(s.inputSize(), dx -> conv.backwardInput(s, dOut, nm, dx)), name + " 2:4 backwardInput into a buffer");
            // these shapes are small enough to run on the calling thread: the same forwards on the pool too
            withMinParallelFlops("0", () -> {
                GemmKernelsTest.assertClose(yPrunedDirect, into(s.outputSize(), y -> conv.forward(s, input, nm, y)), name + " 2:4 forward into a buffer on the pool");
                GemmKernelsTest.assertClose(yDirect, conv.forward(s, input, wDense), name + " dense forward on the pool");
                GemmKernelsTest.assertClose(yPrunedDirect, conv.forward(s, input, nm), name + " 2:4 forward on the pool");
            });
            });
        }
    }

    /**
     * Random small shapes (kernel 1-4, stride 1-2, padding 0-2, dilation 1-2, inputs down to 1x1, both K orders)
     * on the vector kernels, direct and im2col, against the plain loops.
     */
    @Test
    void randomShapesMatchThePlainLoops() {
        SplittableRandom rnd = new SplittableRandom(2026);
        Conv2dKernels conv = new Conv2dKernels(KernelProvider.vector(TWO), TWO);
        KernelThreads oneThread = new KernelThreads(1);
        Conv2dKernels one = new Conv2dKernels(KernelProvider.vector(oneThread), oneThread);
        int checked = 0;
        while (checked < 150) {
            int[] g = randomGeometry(rnd, 0); // kernel, stride, padding, dilation, h, w
            if (g == null) {
                continue;
            }
            Conv2dShape s = Conv2dShape.builder().batch(1 + rnd.nextInt(6)).input(1 + rnd.nextInt(7), g[4], g[5])
                    .outChannels(1 + rnd.nextInt(9)).kernel(g[0], g[0]).stride(g[1], g[1]).padding(g[2], g[2])
                    .dilation(g[3], g[3]).build();
            float[] input = TestData.random(rnd, s.inputSize());
            float[] wDense = TestData.random(rnd, s.weightSize());
            float[] dOut = TestData.random(rnd, s.outputSize());
            NmMatrix nm = NmMatrix.fromDense(wDense, TestData.nmMask(rnd, s.outChannels(), s.k(), 2, 4, false),
                    s.outChannels(), s.k(), 2, 4);
            float[] y = directForward(s, input, wDense);
            float[] dx = directBackwardInput(s, dOut, wDense);
            float[] yNm = directForward(s, input, nm.toDense());
            float[] dxNm = directBackwardInput(s, dOut, nm.toDense());
            float[] dw = directBackwardWeight(s, input, dOut);
            // two threads: image-parallel from 4 images on, shared chunks below; one thread: image-parallel
            for (Conv2dKernels c : new Conv2dKernels[] {conv, one, conv.withoutDirect()}) {
                String name = s + (c == conv ? "" : c == one ? " (1 thread)" : " (im2col)");
                GemmKernelsTest.assertClose(y, c.forward(s, input, wDense), name + " dense forward");
                GemmKernelsTest.assertClose(dx, c.backwardInput(s, dOut, wDense), name + " dense backwardInput");
                GemmKernelsTest.assertClose(yNm, c.forward(s, input, nm), name + " 2:4 forward");
                GemmKernelsTest.assertClose(dxNm, c.backwardInput(s, dOut, nm), name + " 2:4 backwardInput");
                GemmKernelsTest.assertClose(dw, c.backwardWeight(s, input, dOut), name + " dense backwardWeight");
            }
            // both dense weight-gradient routes of the direct path: the grouped kernels (default up to 64 output
            // channels) and the register tile
            for (String grouped : new String[] {"true", "false"}) {
                withProperty(VectorGemm.DW_DENSE_GROUPED_PROPERTY, grouped, () -> {
                    GemmKernelsTest.assertClose(dw, conv.backwardWeight(s, input, dOut), s + " dense backwardWeight, grouped=" + grouped);
                    GemmKernelsTest.assertClose(dw, one.backwardWeight(s, input, dOut), s + " dense backwardWeight (1 thread), grouped=" + grouped);
                });
            }
            checked++;
        }
        oneThread.close();
    }

    /**
     * The N:M forward and input gradient on small maps with many images a padded row (up to 16, chosen by panel
     * cost; the last group part empty) against the plain loops, on one and two threads.
     */
    @Test
    void nmDirectConvWithManyImagesARowMatchesThePlainLoops() {
        int[][] shapes = {{32, 7, 7, 20}, {24, 14, 14, 19}, {16, 5, 9, 33}, {8, 3, 3, 17}}; // channels, h, w, batch
        assertNmForwardAndInputGradientMatchThePlainLoops(new SplittableRandom(14), Arrays.stream(shapes)
                .map(sh -> Conv2dShape.of(sh[3], sh[0], sh[1], sh[2], sh[0], 3, 1, 1)).toArray(Conv2dShape[]::new));
    }

    /** The 2:4 forward and input gradient of each shape (random data and mask) against the plain loops, on 1 and 2 threads. */
    private static void assertNmForwardAndInputGradientMatchThePlainLoops(SplittableRandom rnd, Conv2dShape... shapes) {
        KernelThreads oneThread = new KernelThreads(1);
        Conv2dKernels one = new Conv2dKernels(KernelProvider.vector(oneThread), oneThread);
        Conv2dKernels two = new Conv2dKernels(KernelProvider.vector(TWO), TWO);
        for (Conv2dShape s : shapes) {
            float[] input = TestData.random(rnd, s.inputSize());
            float[] dOut = TestData.random(rnd, s.outputSize());
            NmMatrix nm = NmMatrix.fromDense(TestData.random(rnd, s.weightSize()),
                    TestData.nmMask(rnd, s.outChannels(), s.k(), 2, 4, false), s.outChannels(), s.k(), 2, 4);
            float[] y = directForward(s, input, nm.toDense());
            float[] dx = directBackwardInput(s, dOut, nm.toDense());
            for (Conv2dKernels c : new Conv2dKernels[] {one, two}) {
                String name = s + (c == one ? " (1 thread)" : " (2 threads)");
                GemmKernelsTest.assertClose(y, c.forward(s, input, nm), name + " 2:4 forward");
                GemmKernelsTest.assertClose(dx, c.backwardInput(s, dOut, nm), name + " 2:4 backwardInput");
            }
        }
        oneThread.close();
    }

    /**
     * Image groups left over after the last full round on two threads are split across both by column panels
     * (DirectConvTest checks the split itself): ResNet-20's 64x7 maps at batch 32 (2:4: 7 images a row, 5 groups),
     * odd batches (dense and 2:4: one image a row) and three groups, forward and input gradient against the plain loops.
     */
    @Test
    void leftoverImageGroupsSplitAcrossTheThreadsMatchThePlainLoops() {
        SplittableRandom rnd = new SplittableRandom(17);
        Conv2dKernels two = new Conv2dKernels(KernelProvider.vector(TWO), TWO);
        // also threads + 1 groups: one full round, the last group split (16x28 and 32x14 at batch 3, 16x32 at batch 8)
        int[][] shapes = {{64, 7, 32}, {16, 28, 5}, {8, 20, 7}, {16, 28, 3}, {32, 14, 3}, {16, 32, 8}}; // channels, size, batch
        for (int[] sh : shapes) {
            Conv2dShape s = Conv2dShape.of(sh[2], sh[0], sh[1], sh[1], sh[0], 3, 1, 1);
            float[] input = TestData.random(rnd, s.inputSize());
            float[] dOut = TestData.random(rnd, s.outputSize());
            float[] w = TestData.random(rnd, s.weightSize());
            NmMatrix nm = NmMatrix.fromDense(w, TestData.nmMask(rnd, s.outChannels(), s.k(), 2, 4, false),
                    s.outChannels(), s.k(), 2, 4);
            GemmKernelsTest.assertClose(directForward(s, input, w), two.forward(s, input, w), s + " dense forward");
            GemmKernelsTest.assertClose(directBackwardInput(s, dOut, w), two.backwardInput(s, dOut, w), s + " dense backwardInput");
            GemmKernelsTest.assertClose(directForward(s, input, nm.toDense()), two.forward(s, input, nm), s + " 2:4 forward");
            GemmKernelsTest.assertClose(directBackwardInput(s, dOut, nm.toDense()), two.backwardInput(s, dOut, nm),
                    s + " 2:4 backwardInput");
        }
    }

    /**
     * Maps too large for one image's aligned copies are cut into bands of output rows, each padded with the
     * kernel's reach (DirectConvTest.BANDED: 3x3, 5x5, dilated and unpadded kernels; a short last band; and 128x28,
     * banded on two threads only): the N:M forward and input gradient against the plain loops, on one and two threads.
     */
    @Test
    void bandedLargeMapsMatchThePlainLoops() {
        Conv2dShape[] shapes = Arrays.copyOf(DirectConvTest.BANDED, DirectConvTest.BANDED.length + 1);
        shapes[shapes.length - 1] = Conv2dShape.of(2, 128, 28, 28, 128, 3, 1, 1); // aligned whole on one thread, 2 bands on two
        assertNmForwardAndInputGradientMatchThePlainLoops(new SplittableRandom(18), shapes);
    }

    /**
     * Layouts with a gap of cache lines between the aligned planes (DirectConvTest.GAPPED: 32x14 maps, channel-first
     * and tap-major K, 128x14 tap-major): the N:M forward and input gradient against the plain loops, on one and two
     * threads; the tap-major weights are permuted to the plain loops' (channel, tap) order.
     */
    @Test
    void gappedPlanesMatchThePlainLoops() {
        SplittableRandom rnd = new SplittableRandom(19);
        KernelThreads oneThread = new KernelThreads(1);
        Conv2dKernels one = new Conv2dKernels(KernelProvider.vector(oneThread), oneThread);
        Conv2dKernels two = new Conv2dKernels(KernelProvider.vector(TWO), TWO);
        for (Conv2dShape s : DirectConvTest.GAPPED) {
            Conv2dShape plain = s.toBuilder().channelMajorK(false).build();
            float[] input = TestData.random(rnd, s.inputSize());
            float[] dOut = TestData.random(rnd, s.outputSize());
            NmMatrix nm = NmMatrix.fromDense(TestData.random(rnd, s.weightSize()),
                    TestData.nmMask(rnd, s.outChannels(), s.k(), 2, 4, false), s.outChannels(), s.k(), 2, 4);
            float[] pruned = nm.toDense();
            float[] prunedPlain = new float[pruned.length];
            int kk = s.kernelH() * s.kernelW();
            for (int co = 0; co < s.outChannels(); co++) {
                for (int ci = 0; ci < s.inChannels(); ci++) {
                    for (int tap = 0; tap < kk; tap++) {
                        prunedPlain[co * s.k() + plain.kRow(ci, tap)] = pruned[co * s.k() + s.kRow(ci, tap)];
                    }
                }
            }
            float[] y = directForward(plain, input, prunedPlain);
            float[] dx = directBackwardInput(plain, dOut, prunedPlain);
            for (Conv2dKernels c : new Conv2dKernels[] {one, two}) {
                String name = s + (c == one ? " (1 thread)" : " (2 threads)");
                GemmKernelsTest.assertClose(y, c.forward(s, input, nm), name + " 2:4 forward");
                GemmKernelsTest.assertClose(dx, c.backwardInput(s, dOut, nm), name + " 2:4 backwardInput");
            }
        }
        oneThread.close();
    }

    /**
     * The N:M weight gradient at the kept positions (the grouped kernels on stacked padded images for stride 1, the
     * im2col route otherwise) against the plain loops' dense gradient masked: random small shapes, both K orders,
     * every pattern width the kernels split (1:4, 2:4, 3:8, 4:8, 6:8), masks keeping fewer than N in some groups,
     * and batches from 1 image to several stacks per thread.
     */
    @Test
    void randomShapesNmWeightGradientMatchesTheMaskedPlainLoops() {
        SplittableRandom rnd = new SplittableRandom(2027);
        int[][] formats = {{1, 4}, {2, 4}, {3, 8}, {4, 8}, {6, 8}};
        KernelThreads oneThread = new KernelThreads(1);
        Conv2dKernels[] kernels = {new Conv2dKernels(KernelProvider.vector(TWO), TWO),
                new Conv2dKernels(KernelProvider.vector(oneThread), oneThread)};
        int checked = 0;
        while (checked < 120) {
            int[] g = randomGeometry(rnd, checked % 6 == 5 ? 2 : 1);
            if (g == null) {
                continue;
            }
            int[] f = formats[rnd.nextInt(formats.length)];
            Conv2dShape s = Conv2dShape.builder().batch(1 + rnd.nextInt(checked % 4 == 0 ? 40 : 6))
                    .input(1 + rnd.nextInt(9), g[4], g[5]).outChannels(1 + rnd.nextInt(20)).kernel(g[0], g[0])
                    .stride(g[1], g[1]).padding(g[2], g[2]).dilation(g[3], g[3]).channelMajorK(rnd.nextBoolean())
                    .build();
            float[] input = TestData.random(rnd, s.inputSize());
            float[] wDense = TestData.random(rnd, s.weightSize());
            float[] dOut = TestData.random(rnd, s.outputSize());
            NmMatrix nm = NmMatrix.fromDense(wDense, TestData.nmMask(rnd, s.outChannels(), s.k(), f[0], f[1], true),
                    s.outChannels(), s.k(), f[0], f[1]);
            float[] dw = directBackwardWeight(s, input, dOut);
            float[] mask = nm.mask();
            for (int i = 0; i < dw.length; i++) {
                dw[i] *= mask[i];
            }
            for (Conv2dKernels c : kernels) {
                String name = s + " " + f[0] + ":" + f[1] + (c == kernels[0] ? "" : " (1 thread)");
                GemmKernelsTest.assertClose(dw, c.backwardWeightDense(s, input, dOut, nm), name + " N:M backwardWeight");
            }
            checked++;
        }
        oneThread.close();
    }

    /**
     * A random small square geometry {kernel 1-4, stride (drawn 1-2 when {@code stride} is 0), padding 0-2, dilation
     * 1-2, h, w 1-12}, or null when the dilated kernel does not fit the padded input.
     */
    private static int[] randomGeometry(SplittableRandom rnd, int stride) {
        int k = 1 + rnd.nextInt(4);
        int st = stride > 0 ? stride : 1 + rnd.nextInt(2);
        int pad = rnd.nextInt(3);
        int dil = 1 + rnd.nextInt(2);
        int h = 1 + rnd.nextInt(12);
        int w = 1 + rnd.nextInt(12);
        boolean fits = h + 2 * pad >= dil * (k - 1) + 1 && w + 2 * pad >= dil * (k - 1) + 1;
        return fits ? new int[] {k, st, pad, dil, h, w} : null;
    }

    @Test
    void channelMajorKForwardIsTheForwardOfThePermutedWeight() {
        Conv2dShape s = Conv2dShape.builder().batch(3).input(12, 9, 9).outChannels(10).kernel(3, 3).stride(1, 1)
                .padding(1, 1).channelMajorK(true).build();
        Conv2dShape plain = s.toBuilder().channelMajorK(false).build();
        SplittableRandom rnd = new SplittableRandom(21);
        float[] input = TestData.random(rnd, s.inputSize());
        float[] w = TestData.random(rnd, s.weightSize()); // [Cout, (tap, ci)]
        NmMatrix nm = NmMatrix.fromDense(w, TestData.nmMask(rnd, s.outChannels(), s.k(), 2, 4, false), s.outChannels(), s.k(), 2, 4);
        float[] pruned = nm.toDense();
        float[] wPlain = new float[w.length]; // [Cout, (ci, tap)]
        float[] prunedPlain = new float[w.length];
        for (int co = 0; co < s.outChannels(); co++) {
            for (int ci = 0; ci < s.inChannels(); ci++) {
                for (int tap = 0; tap < 9; tap++) {
                    wPlain[co * s.k() + plain.kRow(ci, tap)] = w[co * s.k() + s.kRow(ci, tap)];
                    prunedPlain[co * s.k() + plain.kRow(ci, tap)] = pruned[co * s.k() + s.kRow(ci, tap)];
                }
            }
        }
        Conv2dKernels conv = new Conv2dKernels(KernelProvider.vector(TWO), TWO);
        for (String direct : new String[] {"true", "false"}) {
            withProperty(Conv2dKernels.DIRECT_PROPERTY, direct, () -> {
                GemmKernelsTest.assertClose(directForward(plain, input, wPlain), conv.forward(s, input, w), "dense, direct=" + direct);
                GemmKernelsTest.assertClose(directForward(plain, input, prunedPlain), conv.forward(s, input, nm), "2:4, direct=" + direct);
            });
        }
    }

    @Test
    void smallForwardsOnTheCallerEqualThePoolsBitForBit() {
        Conv2dShape s = Conv2dShape.of(1, 32, 14, 14, 32, 3, 1, 1); // ResNet-20 stage 2 at batch 1: 3.6 MFLOP dense
        SplittableRandom rnd = new SplittableRandom(11);
        float[] input = TestData.random(rnd, s.inputSize());
        float[] w = TestData.random(rnd, s.weightSize());
        NmMatrix nm = NmMatrix.fromDense(w, TestData.nmMask(rnd, s.outChannels(), s.k(), 2, 4, false), s.outChannels(), s.k(), 2, 4);
        Conv2dKernels conv = new Conv2dKernels(KernelProvider.vector(TWO), TWO);
        float[][] pool = new float[2][];
        float[][] caller = new float[2][];
        withMinParallelFlops("0", () -> {
            pool[0] = conv.forward(s, input, w);
            pool[1] = conv.forward(s, input, nm);
        });
        withMinParallelFlops("1000000000", () -> {
            caller[0] = conv.forward(s, input, w);
            caller[1] = conv.forward(s, input, nm);
        });
        assertTrue(Arrays.equals(pool[0], caller[0]), "dense: same blocking, same sums");
        assertTrue(Arrays.equals(pool[1], caller[1]), "2:4: same blocking, same sums");
        GemmKernelsTest.assertClose(directForward(s, input, w), caller[0], "dense forward on the caller");
    }

    /** A buffer of {@code size} NaNs after {@code fill} wrote into it. */
    private static float[] into(int size, java.util.function.Consumer<float[]> fill) {
        float[] buffer = new float[size];
        Arrays.fill(buffer, Float.NaN);
        fill.accept(buffer);
        return buffer;
    }

    @Test
    void shortOutputBuffersAreRefusedByName() {
        Conv2dShape s = Conv2dShape.of(2, 4, 6, 6, 8, 3, 1, 1);
        float[] input = new float[s.inputSize()];
        float[] w = new float[s.weightSize()];
        float[] dOut = new float[s.outputSize()];
        NmMatrix nm = NmMatrix.fromDense(w, TestData.nmMask(new SplittableRandom(3), s.outChannels(), s.k(), 2, 4, false),
                s.outChannels(), s.k(), 2, 4);
        Conv2dKernels conv = new Conv2dKernels(KernelProvider.vector(TWO), TWO);
        String expected = "output has " + (s.outputSize() - 1) + " entries, expected at least " + s.outputSize();
        assertEquals(expected, assertThrows(IllegalArgumentException.class,
                () -> conv.forward(s, input, w, new float[s.outputSize() - 1])).getMessage());
        assertEquals(expected, assertThrows(IllegalArgumentException.class,
                () -> conv.forward(s, input, nm, new float[s.outputSize() - 1])).getMessage());
        String expectedDx = "dInput has " + (s.inputSize() - 1) + " entries, expected at least " + s.inputSize();
        assertEquals(expectedDx, assertThrows(IllegalArgumentException.class,
                () -> conv.backwardInput(s, dOut, w, new float[s.inputSize() - 1])).getMessage());
        assertEquals(expectedDx, assertThrows(IllegalArgumentException.class,
                () -> conv.withoutDirect().backwardInput(s, dOut, nm, new float[s.inputSize() - 1])).getMessage());
    }

    private static void withMinParallelFlops(String value, Runnable body) {
        withProperty(Conv2dKernels.MIN_PARALLEL_FLOPS_PROPERTY, value, body);
    }

    private static void withProperty(String property, String value, Runnable body) {
        String old = System.getProperty(property);
        System.setProperty(property, value);
        try {
            body.run();
        } finally {
            if (old == null) {
                System.clearProperty(property);
            } else {
                System.setProperty(property, old);
            }
        }
    }

    @Test
    void batchIsChunkedForLargeInputs() {
        // K * Ho * Wo = 576 * 3136 > MAX_COLUMN_FLOATS / 8: several chunks over a batch of 9
        Conv2dShape s = Conv2dShape.of(9, 64, 56, 56, 4, 3, 1, 1);
        SplittableRandom rnd = new SplittableRandom(9);
        float[] input = TestData.random(rnd, s.inputSize());
        float[] w = TestData.random(rnd, s.weightSize());
        float[] dOut = TestData.random(rnd, s.outputSize());
        Conv2dKernels conv = new Conv2dKernels(KernelProvider.vector(TWO), TWO);
        GemmKernelsTest.assertClose(directForward(s, input, w), conv.forward(s, input, w), "chunked forward");
        GemmKernelsTest.assertClose(directBackwardWeight(s, input, dOut), conv.backwardWeight(s, input, dOut), "chunked dW");
    }

    @Test
    void shapeValidationNamesTheParameter() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Conv2dShape.of(0, 3, 8, 8, 4, 3, 1, 1));
        assertEquals("batch must be >= 1, got batch=0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Conv2dShape.of(1, 3, 2, 2, 4, 5, 1, 0));
        assertTrue(e.getMessage().contains("does not fit"), e.getMessage());
        Conv2dShape s = Conv2dShape.of(32, 64, 56, 56, 64, 3, 1, 1);
        assertEquals(56, s.outHeight());
        assertEquals(576, s.k());
        assertTrue(s.toString().contains("stride=1x1"), s.toString());
    }

    static float[] directForward(Conv2dShape s, float[] in, float[] w) {
        float[] out = new float[s.outputSize()];
        for (int b = 0; b < s.batch(); b++) {
            for (int co = 0; co < s.outChannels(); co++) {
                for (int oy = 0; oy < s.outHeight(); oy++) {
                    for (int ox = 0; ox < s.outWidth(); ox++) {
                        double acc = 0;
                        for (int ci = 0; ci < s.inChannels(); ci++) {
                            for (int ky = 0; ky < s.kernelH(); ky++) {
                                for (int kx = 0; kx < s.kernelW(); kx++) {
                                    int iy = oy * s.strideH() - s.padH() + ky * s.dilationH();
                                    int ix = ox * s.strideW() - s.padW() + kx * s.dilationW();
                                    if (iy >= 0 && iy < s.height() && ix >= 0 && ix < s.width()) {
                                        acc += in[((b * s.inChannels() + ci) * s.height() + iy) * s.width() + ix]
                                                * w[((co * s.inChannels() + ci) * s.kernelH() + ky) * s.kernelW() + kx];
                                    }
                                }
                            }
                        }
                        out[((b * s.outChannels() + co) * s.outHeight() + oy) * s.outWidth() + ox] = (float) acc;
                    }
                }
            }
        }
        return out;
    }

    static float[] directBackwardInput(Conv2dShape s, float[] dOut, float[] w) {
        double[] dIn = new double[s.inputSize()];
        forEachTap(s, (inIdx, wIdx, outIdx) -> dIn[inIdx] += (double) dOut[outIdx] * w[wIdx]);
        return toFloat(dIn);
    }

    static float[] directBackwardWeight(Conv2dShape s, float[] in, float[] dOut) {
        double[] dw = new double[s.weightSize()];
        forEachTap(s, (inIdx, wIdx, outIdx) -> dw[wIdx] += (double) dOut[outIdx] * in[inIdx]);
        return toFloat(dw);
    }

    interface Tap {
        void accept(int inIdx, int wIdx, int outIdx);
    }

    static void forEachTap(Conv2dShape s, Tap tap) {
        for (int b = 0; b < s.batch(); b++) {
            for (int co = 0; co < s.outChannels(); co++) {
                for (int oy = 0; oy < s.outHeight(); oy++) {
                    for (int ox = 0; ox < s.outWidth(); ox++) {
                        int outIdx = ((b * s.outChannels() + co) * s.outHeight() + oy) * s.outWidth() + ox;
                        for (int ci = 0; ci < s.inChannels(); ci++) {
                            for (int ky = 0; ky < s.kernelH(); ky++) {
                                for (int kx = 0; kx < s.kernelW(); kx++) {
                                    int iy = oy * s.strideH() - s.padH() + ky * s.dilationH();
                                    int ix = ox * s.strideW() - s.padW() + kx * s.dilationW();
                                    if (iy >= 0 && iy < s.height() && ix >= 0 && ix < s.width()) {
                                        tap.accept(((b * s.inChannels() + ci) * s.height() + iy) * s.width() + ix,
                                                co * s.k() + s.kRow(ci, ky * s.kernelW() + kx), outIdx);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }
}
