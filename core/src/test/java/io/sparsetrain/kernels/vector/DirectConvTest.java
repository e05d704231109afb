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
}
