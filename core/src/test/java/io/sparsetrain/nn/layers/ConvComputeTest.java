package io.sparsetrain.nn.layers;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.kernels.Conv2dKernels;
import io.sparsetrain.kernels.Conv2dShape;
import io.sparsetrain.kernels.NmMatrix;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The layer's own convolution pipeline (cached columns, dW as columns * dY^T; or the engine's direct path for
 * stride 1) equals the engine's one-call {@link Conv2dKernels} methods, dense and 2:4, on both sides of the
 * column-cache limit.
 */
class ConvComputeTest {

    @AfterEach
    void restoreLimit() {
        ConvCompute.setMaxCachedColumns(ConvCompute.MAX_CACHED_COLUMNS);
        ConvCompute.setBudget(ConvCompute.DEFAULT_BUDGET);
        System.clearProperty(ConvCompute.NM_DENSE_WEIGHT_GRADIENT_PROPERTY);
    }

    @ParameterizedTest(name = "k={0} stride={1} pad={2} nm={3} chunked={4} overBudget={5} nmWeightGradient={6}")
    @CsvSource({"3,1,1,false,false,false,nm", "3,2,1,false,false,false,nm", "1,1,0,true,false,false,nm",
                "3,2,1,true,false,false,nm", "3,1,1,false,true,false,nm", "3,2,0,true,true,false,nm",
                "3,1,1,false,false,true,nm", "3,2,1,true,false,true,nm", "3,1,1,true,false,false,dense"})
    void matchesConv2dKernels(int k, int stride, int pad, boolean nm, boolean chunked, boolean overBudget, String nmWeightGradient) {
        if ("dense".equals(nmWeightGradient)) {
            System.setProperty(ConvCompute.NM_DENSE_WEIGHT_GRADIENT_PROPERTY, "true");
        }
        if (chunked) {
            ConvCompute.setMaxCachedColumns(16);
        }
        if (overBudget) {
            ConvCompute.setBudget(0); // temporary column buffers, im2col again in the backward pass
        }
        Conv2dShape s = Conv2dShape.of(3, 5, 7, 6, 6, k, stride, pad);
        Random r = new Random(k * 31 + stride);
        float[] x = random(r, s.inputSize());
        float[] w = random(r, s.weightSize());
        float[] dOut = random(r, s.outputSize());
        NmMatrix m = null;
        if (nm) {
            float[] mask = new float[w.length];
            for (int i = 0; i < mask.length; i++) {
                mask[i] = (i % s.k()) % 4 < 2 ? 1f : 0f;
                w[i] *= mask[i];
            }
            m = NmMatrix.fromDense(w, mask, s.outChannels(), s.k(), 2, 4);
        }
        Conv2dKernels ref = Conv2dKernels.get();
        ConvCompute c = new ConvCompute();
        float[] y = c.forward(s, x, w, m, true);
        ConvCompute.Gradients g = c.backward(s, x, dOut, w, m);
        assertClose(ref.forward(s, x, w), y, "forward");
        assertClose(y, new ConvCompute().forward(s, x, w, m, false), "inference forward (no columns kept)");
        assertClose(ref.backwardInput(s, dOut, w), g.dx(), "input gradient");
        float[] dw = ref.backwardWeight(s, x, dOut);
        if (m != null) {
            float[] mask = m.mask();
            for (int i = 0; i < dw.length; i++) {
                dw[i] *= mask[i];
            }
        }
        assertClose(dw, g.dw(), "weight gradient");
        // a backward pass without the forward pass (columns recomputed)
        assertClose(g.dw(), new ConvCompute().backward(s, x, dOut, w, m).dw(), "weight gradient without cache");
        long held = ConvCompute.reservedFloats();
        c.release();
        // stride 1 runs direct: nothing unfolded, no column buffer held
        boolean direct = stride == 1;
        long expectedDrop = chunked || overBudget || direct ? 0 : (long) s.k() * s.cols();
        assertTrue(held - ConvCompute.reservedFloats() == expectedDrop, "release returns the layer's columns to the budget");
    }

    private static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextFloat() * 2 - 1;
        }
        return a;
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        double max = 1;
        for (float v : expected) {
            max = Math.max(max, Math.abs(v));
        }
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Math.abs(expected[i] - actual[i]) <= 1e-4 * max, what + " differs at " + i + ": " + expected[i] + " vs " + actual[i]);
        }
    }
}
