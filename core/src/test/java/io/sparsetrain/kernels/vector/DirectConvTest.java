package io.sparsetrain.kernels.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.kernels.Conv2dShape;
import org.junit.jupiter.api.Test;

/** Which schedule the direct convolution's layout picks (the results of both: Conv2dKernelsTest). */
public class DirectConvTest {

    private static DirectConv.Geometry forward(int batch, int channels, int hw, int threads) {
        return DirectConv.Geometry.of(DirectConv.Frame.forward(Conv2dShape.of(batch, channels, hw, hw, channels, 3, 1, 1)),
                true, threads);
    }

    @Test
    void imageParallelWhenEveryThreadGetsImagesAndTheCopiesFitL2() {
        DirectConv.Geometry g = forward(32, 16, 28, 2);
        assertTrue(g.local(), g.toString());
        assertEquals(1, g.chunkGroups(), "one group per task");
        assertEquals(3, g.copies(), "aligned copies");
        assertEquals((g.groupFloats() + DirectConv.SLACK + 15) & ~15, g.copyStride(), "copies of one group only");
        assertTrue(forward(1, 16, 28, 1).local(), "one thread: always");
    }

    @Test
    void sharedChunksForFewImagesLargeImagesOrACallerThatChunks() {
        assertFalse(forward(2, 16, 28, 2).local(), "2 images on 2 threads: no more groups than threads");
        assertTrue(forward(3, 16, 28, 2).local(), "3 images on 2 threads: a full round, the third split by panels");
        DirectConv.Geometry big = forward(32, 64, 112, 2); // 64 x 114 x 114 floats a group: past LOCAL_FLOATS
        assertFalse(big.local(), big.toString());
        assertFalse(forward(32, 16, 28, 0).local(), "threads 0: the weight gradient chunks itself");
        DirectConv.Geometry few = forward(2, 16, 28, 2);
        assertEquals(few.groups(), few.chunkGroups(), "the whole batch in one 2 MiB chunk: " + few);
    }

    @Test
    void moreImagesARowWhenTheyNeedFewerNarrowPanels() {
        // 32x14: one image a row is 222 columns (panels of 8, 4 and 2 vectors), four are 894 (seven of 8)
        DirectConv.Geometry g = forward(32, 32, 14, 1);
        assertEquals(4, g.group(), g.toString());
        assertEquals(64, g.wrow(), g.toString());
        assertEquals(894, g.cols(), g.toString());
        assertTrue(DirectConv.Geometry.panelCost(g.cols()) / g.group() < DirectConv.Geometry.panelCost(222), "cheaper per image");
        assertTrue(g.local(), g.toString());
        // 64x7 on one thread: sixteen images a row are 1006 columns, eight panels of 8 (five a row: 331, 8+8+4+1)
        assertEquals(16, forward(32, 64, 7, 1).group());
    }

    @Test
    void onTwoThreadsLargerGroupsKeepEachThreadsCopiesSmallAndTheImageParallelSchedule() {
        DirectConv.Geometry g = forward(32, 64, 7, 2);
        assertTrue(g.group() > 5, "more than the smallest aligned group: " + g);
        assertTrue((long) g.copies() * g.groupFloats() <= DirectConv.LOCAL_FLOATS / 2, g.toString());
        assertTrue(g.local(), g.toString());
        // 8 images on 2 threads: a group of 4 would leave 2 groups, too few for the image-parallel schedule
        DirectConv.Geometry few = forward(8, 32, 14, 2);
        assertTrue(few.local(), few.toString());
        assertEquals(2, few.group(), few.toString());
    }

    @Test
    void theSmallestAlignedGroupDecidesWhetherToAlign() {
        // 256x56: one image's aligned copies (64 floats a row) are 2.9 M floats, past CHUNK_FLOATS, and bands small
        // enough for LOCAL_FLOATS would have 3 output rows, under MIN_BAND_ROWS: unaligned
        DirectConv.Geometry g = forward(32, 256, 56, 1);
        assertEquals(1, g.copies(), g.toString());
        assertEquals(1, g.group(), g.toString());
        assertEquals(58, g.wrow(), g.toString());
        assertEquals(1, g.f().bands(), g.toString());
        // batch 1: one image a row whatever the cost
        assertEquals(1, forward(1, 32, 14, 1).group());
    }

    /** Shapes whose N:M layouts are banded on one and two threads (Conv2dKernelsTest.bandedLargeMapsMatchThePlainLoops). */
    public static final Conv2dShape[] BANDED = {
        Conv2dShape.of(2, 64, 41, 56, 64, 3, 1, 1), // 3 bands of 14 rows, the last 13
        Conv2dShape.builder().batch(3).input(64, 30, 60).outChannels(64).kernel(5, 5).stride(1, 1).padding(2, 2).build(),
        Conv2dShape.builder().batch(1).input(64, 48, 60).outChannels(64).kernel(3, 3).stride(1, 1).padding(2, 2)
                .dilation(2, 2).build(),
        Conv2dShape.builder().batch(2).input(64, 46, 58).outChannels(64).kernel(3, 3).stride(1, 1).padding(0, 0).build(),
    };

    @Test
    void largeMapsAreCutIntoBandsWhoseAlignedCopiesFitL2() {
        // ResNet's 64x56 maps: one image's three aligned copies are 2.8 MB; bands of 19 output rows (21 padded) are
        // 258 K floats, within LOCAL_FLOATS, and image-parallel
        for (int threads = 1; threads <= 2; threads++) {
            DirectConv.Geometry g = forward(32, 64, 56, threads);
            assertEquals(3, g.f().bands(), g.toString());
            assertEquals(19, g.f().outH(), g.toString());
            assertEquals(21, g.f().hp(), g.toString());
            assertEquals(56, g.f().fullOutH(), g.toString());
            assertEquals(96, g.f().batch(), "the frame counts bands: " + g);
            assertEquals(3, g.copies(), g.toString());
            assertEquals(64, g.wrow(), g.toString());
            assertTrue((long) g.copies() * g.groupFloats() <= DirectConv.LOCAL_FLOATS, g.toString());
            assertTrue(g.local(), g.toString());
            DirectConv.Geometry dx = DirectConv.Geometry.of(DirectConv.Frame.backwardInput(Conv2dShape.of(32, 64, 56, 56, 64, 3, 1, 1)),
                    true, threads);
            assertEquals(3, dx.f().bands(), dx.toString());
        }
        // the dense layouts read the unaligned operand and are never banded
        DirectConv.Geometry dense = DirectConv.Geometry.of(DirectConv.Frame.forward(Conv2dShape.of(32, 64, 56, 56, 64, 3, 1, 1)),
                false, 1);
        assertEquals(1, dense.f().bands(), dense.toString());
        // maps whose copies fit whole stay whole
        assertEquals(1, forward(32, 16, 28, 1).f().bands());
        // aligned whole images past LOCAL_FLOATS (128x28: 1.5 MB of copies) on shared chunks: banded on two threads
        // when the bands get the image-parallel schedule, whole on one thread
        DirectConv.Geometry two = forward(32, 128, 28, 2);
        assertEquals(2, two.f().bands(), two.toString());
        assertTrue(two.local() && two.copies() == 3, two.toString());
        DirectConv.Geometry one = forward(32, 128, 28, 1);
        assertEquals(1, one.f().bands(), one.toString());
        assertTrue(!one.local() && one.copies() == 3, one.toString());
        assertEquals(2, forward(2, 128, 28, 2).f().bands(), "Conv2dKernelsTest's 128x28 case");
        DirectConv.Geometry single = forward(1, 128, 28, 2);
        assertEquals(3, single.f().bands(), "one image on two threads: 3 bands, a full round and one split: " + single);
        assertTrue(single.local(), single.toString());
        // 128x7 stays whole: a band would keep 7 rows
        assertEquals(1, forward(32, 128, 7, 2).f().bands());
        for (Conv2dShape s : BANDED) {
            DirectConv.Geometry f = DirectConv.Geometry.of(DirectConv.Frame.forward(s), true, 1);
            DirectConv.Geometry b = DirectConv.Geometry.of(DirectConv.Frame.backwardInput(s), true, 2);
            assertTrue(f.f().bands() > 1 && f.copies() > 1, f.toString());
            assertTrue(b.f().bands() > 1 && b.copies() > 1, b.toString());
            assertTrue(f.f().bands() * f.f().outH() >= s.outHeight() && (f.f().bands() - 1) * f.f().outH() < s.outHeight(),
                    "bands cover the output rows, none empty: " + f);
        }
        assertEquals(14, DirectConv.Geometry.of(DirectConv.Frame.forward(BANDED[0]), true, 1).f().outH());
    }

    @Test
    void leftoverImageGroupsAreSplitByPanelsSoEveryGroupAndPanelRunsOnce() {
        for (int groups = 1; groups <= 12; groups++) {
            for (int threads = 1; threads <= 4; threads++) {
                for (int panels = 1; panels <= 9; panels++) {
                    DirectConv.TailSplit split = DirectConv.TailSplit.of(groups, threads, panels);
                    String where = groups + " groups, " + threads + " threads, " + panels + " panels: " + split;
                    int[][] runs = new int[groups][panels];
                    int lastGroup = 0;
                    for (int task = 0; task < split.tasks(); task++) {
                        int grp = split.group(task);
                        assertTrue(grp >= lastGroup, "groups in order, " + where);
                        lastGroup = grp;
                        for (int p = split.firstPanel(task); p < split.endPanel(task); p++) {
                            runs[grp][p]++;
                        }
                    }
                    for (int g = 0; g < groups; g++) {
                        for (int p = 0; p < panels; p++) {
                            assertEquals(1, runs[g][p], "group " + g + " panel " + p + ", " + where);
                        }
                    }
                    boolean uneven = groups % threads != 0 && groups >= threads && panels > 1;
                    int leftover = groups % threads;
                    assertEquals(uneven ? groups - leftover + leftover * Math.min(threads, panels) : groups, split.tasks(), where);
                }
            }
        }
        // ResNet-20's 64x7 maps at batch 32 on two threads: 7 images a row, so 5 groups, the last one split
        DirectConv.Geometry g = forward(32, 64, 7, 2);
        assertEquals(5, g.groups(), g.toString());
        assertTrue(g.local(), g.toString());
        int panels = VectorGemm.panels(g.cols(), true).length / 2;
        assertEquals(4 + Math.min(2, panels), DirectConv.TailSplit.of(g.groups(), 2, panels).tasks());
    }
    /**
     * Layouts whose aligned planes get a gap of cache lines on one thread ({@link DirectConv.Geometry#setOverflow}):
     * ResNet-20's 32x14 maps in both K orders (4 images a row: 64-float rows, 4 KiB planes), 128x14 tap-major and
     * CIFAR's 16x32, at batches the kernel tests run.
     */
    public static final Conv2dShape[] GAPPED = {
        Conv2dShape.of(4, 32, 14, 14, 32, 3, 1, 1),
        Conv2dShape.builder().batch(2).input(32, 14, 14).outChannels(32).kernel(3, 3).padding(1, 1).channelMajorK(true).build(),
        Conv2dShape.builder().batch(1).input(128, 14, 14).outChannels(24).kernel(3, 3).padding(1, 1).channelMajorK(true).build(),
        Conv2dShape.of(3, 16, 32, 32, 16, 3, 1, 1),
    };

    @Test
    void planesAMultipleOf4KiBApartAreSpreadOverTheL1Sets() {
        // 32x14, batch 32: 16 padded rows of 64 floats are 4 KiB a plane, so every channel's rows of a reduction
        // block fall into the same L1 sets; one line (16 floats) between planes spreads them
        for (int threads = 1; threads <= 2; threads++) {
            DirectConv.Geometry g = forward(32, 32, 14, threads);
            assertEquals(16 * 64 + 16, g.plane(), g.toString());
            assertEquals(0, g.setOverflow(), g.toString());
            DirectConv.Geometry noGap = withPlane(g, 16 * 64);
            assertTrue(noGap.setOverflow() > 0, "without the gap: " + noGap);
        }
        // 16x28: 30 padded rows of 32 floats (3840 bytes) already spread; no gap
        DirectConv.Geometry g = forward(32, 16, 28, 1);
        assertEquals(30 * 32, g.plane(), g.toString());
        assertEquals(0, g.setOverflow(), g.toString());
        // the unaligned layout (the dense kernels) keeps its planes together
        Conv2dShape s = Conv2dShape.of(32, 32, 14, 14, 32, 3, 1, 1);
        DirectConv.Geometry dense = DirectConv.Geometry.of(DirectConv.Frame.forward(s), false, 1);
        assertEquals(16 * 16, dense.plane(), dense.toString());
        for (Conv2dShape gapped : GAPPED) {
            DirectConv.Geometry f = DirectConv.Geometry.of(DirectConv.Frame.forward(gapped), true, 1);
            assertTrue(f.plane() > f.f().hp() * f.wrow() && f.plane() % VectorGemm.L == 0, f.toString());
            assertTrue(f.setOverflow() < withPlane(f, f.f().hp() * f.wrow()).setOverflow(), f.toString());
        }
    }

    /** {@code g} with its planes {@code plane} floats apart (its copy stride and group size to match). */
    private static DirectConv.Geometry withPlane(DirectConv.Geometry g, int plane) {
        int groupFloats = g.f().channels() * plane;
        int copyStride = (g.chunkGroups() * groupFloats + DirectConv.SLACK + 15) & ~15;
        return new DirectConv.Geometry(g.f(), g.group(), g.wrow(), plane, groupFloats, g.copies(), g.chunkGroups(),
                copyStride, g.cols(), g.local());
    }
}
