package io.sparsetrain.learn.strbn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.learn.LearnTestData;
import io.sparsetrain.prune.LayerShape;
import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;

class FilterRemovalTest {
    private static final int CIN = 3;
    private static final int C = 8;
    private static final int H = 7;
    private static final int W = 6;

    /** Reference stride-1 convolution with zero padding; x [cin, h, w], weights [cout, cin, kh, kw]. */
    static double[][][] conv(double[][][] x, LayerShape s, float[] w, float[] bias, int pad) {
        int cout = s.outputs();
        int cin = s.inputChannels();
        int kh = s.kernelHeight();
        int kw = s.kernelWidth();
        int h = x[0].length;
        int wd = x[0][0].length;
        int oh = h + 2 * pad - kh + 1;
        int ow = wd + 2 * pad - kw + 1;
        double[][][] out = new double[cout][oh][ow];
        for (int o = 0; o < cout; o++) {
            for (int y = 0; y < oh; y++) {
                for (int z = 0; z < ow; z++) {
                    double sum = bias == null ? 0 : bias[o];
                    for (int c = 0; c < cin; c++) {
                        for (int i = 0; i < kh; i++) {
                            for (int j = 0; j < kw; j++) {
                                int yy = y + i - pad;
                                int zz = z + j - pad;
                                if (yy >= 0 && yy < h && zz >= 0 && zz < wd) {
                                    sum += w[((o * cin + c) * kh + i) * kw + j] * x[c][yy][zz];
                                }
                            }
                        }
                    }
                    out[o][y][z] = sum;
                }
            }
        }
        return out;
    }

    /** conv -> BN -> act -> next conv. */
    static double[][][] forward(ConvBnChain ch, double[][][] x, DoubleUnaryOperator act, int pad1, int pad2) {
        double[][][] a = conv(x, ch.convShape(), ch.convWeights(), ch.convBias(), pad1);
        for (int c = 0; c < a.length; c++) {
            double inv = 1 / Math.sqrt(ch.var()[c] + ch.eps());
            for (double[] row : a[c]) {
                for (int i = 0; i < row.length; i++) {
                    double xHat = (row[i] - ch.mean()[c]) * inv;
                    row[i] = act.applyAsDouble(ch.bnForm().apply(xHat, ch.gamma()[c], ch.beta()[c]));
                }
            }
        }
        return conv(a, ch.nextShape(), ch.nextWeights(), ch.nextBias(), pad2);
    }

    private static ConvBnChain randomChain(BnForm form, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        LayerShape s1 = LayerShape.conv(C, CIN, 3, 3);
        LayerShape s2 = LayerShape.conv(5, C, 3, 3);
        float[] gammaRaw = new float[C];
        float[] beta = new float[C];
        float[] mean = new float[C];
        float[] var = new float[C];
        for (int c = 0; c < C; c++) {
            // channels 1, 4, 6 have small |gamma| and die; their beta is positive so relu(beta) != 0
            gammaRaw[c] = (float) ((c == 1 || c == 4 || c == 6) ? 0.1 * (r.nextDouble() - 0.5)
                    : (0.5 + r.nextDouble()) * (r.nextBoolean() ? 1 : -1));
            beta[c] = (float) ((c == 1 || c == 4) ? 0.3 + r.nextDouble() : r.nextDouble() - 0.5);
            mean[c] = (float) (0.2 * (r.nextDouble() - 0.5));
            var[c] = (float) (0.5 + r.nextDouble());
        }
        StrBnThreshold t = StrBnThreshold.defaults();
        float[] gamma = t.effectiveGamma(gammaRaw, Math.log(0.1 / 0.9)); // g(s) = 0.1
        return new ConvBnChain(s1, LearnTestData.gaussianArray(s1.size(), 0.4, seed + 1),
                LearnTestData.gaussianArray(C, 0.1, seed + 2), form, gamma, beta, mean, var, 1e-5,
                s2, LearnTestData.gaussianArray(s2.size(), 0.3, seed + 3), LearnTestData.gaussianArray(5, 0.1, seed + 4));
    }

    private static double[][][] input(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[][][] x = new double[CIN][H][W];
        for (double[][] plane : x) {
            for (double[] row : plane) {
                for (int i = 0; i < row.length; i++) {
                    row[i] = LearnTestData.gaussian(r);
                }
            }
        }
        return x;
    }

    private static void assertSameOutputs(double[][][] a, double[][][] b) {
        assertEquals(a.length, b.length);
        for (int o = 0; o < a.length; o++) {
            for (int y = 0; y < a[o].length; y++) {
                assertArrayEquals(a[o][y], b[o][y], 1e-4, "output " + o + " row " + y);
            }
        }
    }

    private static FilterRemovalPlan plan(ConvBnChain ch) {
        boolean[] dead = new boolean[ch.channels()];
        for (int c = 0; c < dead.length; c++) {
            dead[c] = ch.gamma()[c] == 0f;
        }
        return FilterRemovalPlan.forDeadChannels(dead, ch.gamma());
    }

    @Test
    void standardBnFoldsTheDeadConstantIntoTheNextBias() {
        ConvBnChain full = randomChain(BnForm.STANDARD, 40);
        FilterRemovalPlan p = plan(full);
        assertArrayEquals(new int[] {1, 4, 6}, p.removedChannels());
        ConvBnChain small = FilterRemoval.apply(full, p, FilterRemoval.RELU);
        assertEquals(C - 3, small.channels());
        assertEquals(C - 3, small.nextShape().inputChannels());
        assertTrue(FilterRemoval.foldedConstants(full, FilterRemoval.RELU)[1] > 0, "a non-trivial fold");
        for (long seed = 0; seed < 3; seed++) {
            double[][][] x = input(seed);
            // valid (unpadded) next conv: the fold is exact
            assertSameOutputs(forward(full, x, FilterRemoval.RELU, 1, 0), forward(small, x, FilterRemoval.RELU, 1, 0));
        }
        // without the fold the outputs would differ
        ConvBnChain unfolded = new ConvBnChain(small.convShape(), small.convWeights(), small.convBias(), small.bnForm(),
                small.gamma(), small.beta(), small.mean(), small.var(), small.eps(), small.nextShape(),
                small.nextWeights(), full.nextBias());
        double diff = Math.abs(forward(full, input(0), FilterRemoval.RELU, 1, 0)[0][0][0]
                - forward(unfolded, input(0), FilterRemoval.RELU, 1, 0)[0][0][0]);
        assertTrue(diff > 1e-3, "fold matters: " + diff);
    }

    @Test
    void strBnFormDeadChannelsAreZeroEvenWithPadding() {
        ConvBnChain full = randomChain(BnForm.STR_BN, 41);
        FilterRemovalPlan p = plan(full);
        ConvBnChain small = FilterRemoval.apply(full, p, FilterRemoval.RELU);
        assertArrayEquals(full.nextBias(), small.nextBias());
        for (long seed = 0; seed < 3; seed++) {
            double[][][] x = input(seed);
            assertSameOutputs(forward(full, x, FilterRemoval.RELU, 1, 1), forward(small, x, FilterRemoval.RELU, 1, 1));
        }
    }

    @Test
    void denseNextLayerAfterPoolingIsSliced() {
        ConvBnChain conv = randomChain(BnForm.STANDARD, 42);
        LayerShape fc = LayerShape.denseInOut(C, 4);
        float[] fcW = LearnTestData.gaussianArray(fc.size(), 0.5, 9);
        float[] fcB = LearnTestData.gaussianArray(4, 0.1, 10);
        ConvBnChain full = new ConvBnChain(conv.convShape(), conv.convWeights(), conv.convBias(), conv.bnForm(),
                conv.gamma(), conv.beta(), conv.mean(), conv.var(), conv.eps(), fc, fcW, fcB);
        ConvBnChain small = FilterRemoval.apply(full, plan(full), FilterRemoval.RELU);
        // global average pooling then fc, computed by hand through the reference conv with a 1x1 "image"
        double[][][] x = input(5);
        for (ConvBnChain ch : new ConvBnChain[] {full, small}) {
            assertEquals(LayerShape.Layout.DENSE_IN_OUT, ch.nextShape().layout());
        }
        assertArrayEquals(pooledFc(full, x), pooledFc(small, x), 1e-4);
    }

    private static double[] pooledFc(ConvBnChain ch, double[][][] x) {
        double[][][] a = conv(x, ch.convShape(), ch.convWeights(), ch.convBias(), 1);
        int c = ch.channels();
        double[] pooled = new double[c];
        for (int k = 0; k < c; k++) {
            double inv = 1 / Math.sqrt(ch.var()[k] + ch.eps());
            for (double[] row : a[k]) {
                for (double v : row) {
                    pooled[k] += Math.max(0, ch.bnForm().apply((v - ch.mean()[k]) * inv, ch.gamma()[k], ch.beta()[k]));
                }
            }
            pooled[k] /= a[k].length * a[k][0].length;
        }
        LayerShape s = ch.nextShape();
        double[] out = new double[s.outputs()];
        for (int o = 0; o < out.length; o++) {
            out[o] = ch.nextBias()[o];
            for (int k = 0; k < c; k++) {
                out[o] += ch.nextWeights()[s.index(o, k)] * pooled[k];
            }
        }
        return out;
    }

    @Test
    void residualRuleNeedsBothSidesDead() {
        float[] g = {0f, 0f, 0.5f, 0f};
        FilterRemovalPlan p = FilterRemovalPlan.forResidualBranch(new boolean[] {true, true, false, true},
                new boolean[] {true, false, false, false}, g);
        assertArrayEquals(new int[] {0}, p.removedChannels());
        FilterRemovalPlan all = FilterRemovalPlan.forDeadChannels(new boolean[] {true, true, true}, new float[] {0f, 0f, 0f});
        assertEquals(1, all.keptCount(), "at least one channel stays");
        FilterRemovalPlan chain = FilterRemovalPlan.forChain(StrBnThreshold.defaults(), new float[] {0.001f, 0.5f},
                StrBnThreshold.DEFAULT_INITIAL_S);
        assertArrayEquals(new int[] {0}, chain.removedChannels());
    }

    @Test
    void rejectsRemovingALiveChannel() {
        ConvBnChain full = randomChain(BnForm.STANDARD, 43);
        boolean[] r = new boolean[C];
        r[0] = true; // channel 0 is alive
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FilterRemoval.apply(full, FilterRemovalPlan.of(r), FilterRemoval.RELU));
        assertTrue(e.getMessage().contains("channel 0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> FilterRemovalPlan.of(new boolean[] {true}));
    }
}
