package io.sparsetrain.kernels.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.kernels.Conv2dShape;
import org.junit.jupiter.api.Test;

/** Which schedule the direct convolution's layout picks (the results of both: Conv2dKernelsTest). */
class DirectConvTest {

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
        assertFalse(forward(3, 16, 28, 2).local(), "3 images on 2 threads");
        DirectConv.Geometry big = forward(32, 64, 112, 2); // 64 x 114 x 114 floats a group: past LOCAL_FLOATS
        assertFalse(big.local(), big.toString());
        assertFalse(forward(32, 16, 28, 0).local(), "threads 0: the weight gradient chunks itself");
        DirectConv.Geometry few = forward(3, 16, 28, 2);
        assertEquals(3, few.chunkGroups(), "the whole batch in one 2 MiB chunk");
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
        // 64x56: the first aligned row (3 images, 176 floats) makes 2 MiB of copies, past CHUNK_FLOATS: unaligned,
        // though no larger group would fit either
        DirectConv.Geometry g = forward(32, 64, 56, 1);
        assertEquals(1, g.copies(), g.toString());
        assertEquals(1, g.group(), g.toString());
        assertEquals(58, g.wrow(), g.toString());
        // batch 1: one image a row whatever the cost
        assertEquals(1, forward(1, 32, 14, 1).group());
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
}
