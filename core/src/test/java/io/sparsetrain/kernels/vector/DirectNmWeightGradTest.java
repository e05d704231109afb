package io.sparsetrain.kernels.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.kernels.Conv2dShape;
import io.sparsetrain.kernels.KernelThreads;
import io.sparsetrain.kernels.NmLayout;
import io.sparsetrain.kernels.NmMatrix;
import org.junit.jupiter.api.Test;

/** The stacked layout of the direct N:M weight gradient and where it applies (its results: Conv2dKernelsTest). */
class DirectNmWeightGradTest {

    @Test
    void paddingIsStoredOnceWhereTheOutputFits() {
        // 3x3, padding 1 on 7x7: rows of 7 + 1, images 7 + 1 rows apart (64 floats an image, not 9 x 9)
        DirectNmWeightGrad.Stack s = DirectNmWeightGrad.Stack.of(Conv2dShape.of(32, 64, 7, 7, 64, 3, 1, 1), 16);
        assertEquals(8, s.wq());
        assertEquals(8, s.hq());
        assertEquals((s.bc() * 8 + 1) * 8 + 1, s.chanFloats(), "a stack's rows plus the first image's top padding");
        assertEquals(8 + 1, s.kOffset()[4] - s.kOffset()[0], "tap (1, 1): one row (8 floats) and one column on");
        assertEquals(s.chanFloats(), s.kOffset()[9] - s.kOffset()[0], "next input channel");
        // a 1x1 kernel with padding 1 has outputs in the padding: both sides stored
        DirectNmWeightGrad.Stack p = DirectNmWeightGrad.Stack.of(Conv2dShape.of(2, 3, 5, 5, 4, 1, 1, 1), 2);
        assertEquals(7, p.wq());
        assertEquals(7, p.hq());
    }

    @Test
    void stacksHoldSeveralImagesWithinTheBudget() {
        Conv2dShape small = Conv2dShape.of(32, 64, 7, 7, 64, 3, 1, 1); // (64 + 64) x 64 floats an image
        assertEquals(DirectNmWeightGrad.STACK_FLOATS / (128 * 64), DirectNmWeightGrad.Stack.of(small, 16).bc());
        assertEquals(3, DirectNmWeightGrad.Stack.of(small, 3).bc(), "never more than the task's images");
        assertEquals(1, DirectNmWeightGrad.Stack.of(Conv2dShape.of(8, 64, 56, 56, 64, 3, 1, 1), 4).bc(), "large maps: one");
        // 512 channels on 7x7: 2 images fit the budget, but a tile of columns takes 16 (64 floats an image)
        assertEquals(NmGroupedWeightGrad.TILE / 64,
                DirectNmWeightGrad.Stack.of(Conv2dShape.of(32, 512, 7, 7, 512, 3, 1, 1), 16).bc());
    }

    @Test
    void supportsStrideOneWithinTheWorkspaceOnly() {
        assertTrue(DirectNmWeightGrad.supports(Conv2dShape.of(32, 16, 28, 28, 16, 3, 1, 1)));
        assertFalse(DirectNmWeightGrad.supports(Conv2dShape.builder().batch(2).input(16, 28, 28).outChannels(16)
                .kernel(3, 3).stride(2, 2).padding(1, 1).build()), "stride 2");
        int side = (int) Math.sqrt(VectorGemm.Workspace.FLOATS) + 2; // one channel past the workspace
        Conv2dShape huge = Conv2dShape.of(1, 1, side, side, 4, 3, 1, 1);
        assertFalse(DirectNmWeightGrad.supports(huge));
        KernelThreads one = new KernelThreads(1);
        try {
            NmMatrix w = NmMatrix.fromDense(new float[huge.weightSize()], mask(huge.outChannels(), huge.k()),
                    huge.outChannels(), huge.k(), 2, 4);
            VectorGemm v = new VectorGemm(one);
            assertFalse(v.directBackwardWeight(huge, w), "the route falls back to the dense product");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> v.directBackwardWeight(huge, new float[huge.inputSize()], new float[huge.outputSize()], w,
                            new float[w.slots()]));
            assertTrue(e.getMessage().contains(huge.toString()), e.getMessage());
        } finally {
            one.close();
        }
    }

    @Test
    void denseLayoutKeepsEveryPositionAtItsDenseIndex() {
        NmLayout.GroupedLayout g = DirectNmWeightGrad.denseLayout(3, 10); // groups of 4, 4, 2
        assertEquals(3, g.groups());
        assertEquals(3, g.lists());
        assertEquals(2, g.listKept()[2], "the last group is short");
        assertEquals(9, g.listK()[2 * 4 + 1]);
        assertEquals(-1, g.listK()[2 * 4 + 2]);
        assertEquals(2 * 10 + 8, g.slot()[2 * 3 + 2], "row 2, group 2: dense index 28");
    }

    /** Keeps the first two of every group of 4. */
    private static float[] mask(int rows, int k) {
        float[] m = new float[rows * k];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < k; j++) {
                m[r * k + j] = j % 4 < 2 ? 1f : 0f;
            }
        }
        return m;
    }
}
