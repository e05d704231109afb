package io.sparsetrain.learn.nm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.learn.LearnTestData;
import io.sparsetrain.learn.optim.AdamW;
import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.nm.NmGroupOrder;
import io.sparsetrain.prune.nm.NmMagnitudePruner;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

class GumbelNmMaskTest {

    /** Awkward shapes: K not a multiple of M, both dense layouts, a 1x1 conv. */
    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(LayerShape.conv(5, 3, 3, 3), 2, 4),   // K = 27
                Arguments.of(LayerShape.conv(4, 2, 1, 1), 1, 4),   // K = 2 < M
                Arguments.of(LayerShape.dense(3, 10), 2, 4),
                Arguments.of(LayerShape.denseInOut(13, 6), 2, 4),
                Arguments.of(LayerShape.conv(3, 5, 3, 1), 4, 8),   // K = 15
                Arguments.of(LayerShape.dense(2, 7), 1, 2),
                Arguments.of(LayerShape.conv(2, 3, 3, 3), 3, 5));
    }

    /** {@link #cases()} with each group order (the two differ on convolutions with kernels larger than 1x1). */
    static Stream<Arguments> ordered() {
        return cases().flatMap(a -> Stream.of(NmGroupOrder.values())
                .map(o -> Arguments.of(a.get()[0], a.get()[1], a.get()[2], o)));
    }

    private static PrunableLayer layer(LayerShape s, long seed) {
        return LearnTestData.layer("l", s, 0.7, seed);
    }

    /** Double-precision reference forward: L(a) = sum_i c_i W_i m_i(a), noise fixed. */
    private static double referenceLoss(GumbelNmMask g, double[] a, double[] noise, double tau, float[] w, float[] c) {
        LayerShape s = g.shape();
        NmPatterns p = g.patterns();
        int groups = g.groupCount();
        int k = s.k();
        double loss = 0;
        for (int r = 0; r < s.outputs(); r++) {
            for (int gr = 0; gr < groups; gr++) {
                int base = g.logitIndex(r, gr, 0);
                double max = Double.NEGATIVE_INFINITY;
                for (int q = 0; q < p.count(); q++) {
                    if (g.isValidPattern(gr, q)) {
                        max = Math.max(max, (a[base + q] + noise[base + q]) / tau);
                    }
                }
                double[] y = new double[p.count()];
                double sum = 0;
                for (int q = 0; q < p.count(); q++) {
                    y[q] = g.isValidPattern(gr, q) ? Math.exp((a[base + q] + noise[base + q]) / tau - max) : 0;
                    sum += y[q];
                }
                for (int j = 0; j < p.m() && gr * p.m() + j < k; j++) {
                    double m = 0;
                    for (int q = 0; q < p.count(); q++) {
                        if (p.keeps(q, j)) {
                            m += y[q] / sum;
                        }
                    }
                    int i = s.index(r, g.groupOrder().originalK(s, gr * p.m() + j));
                    loss += c[i] * w[i] * m;
                }
            }
        }
        return loss;
    }

    @ParameterizedTest
    @MethodSource("ordered")
    void gradientMatchesFiniteDifferences(LayerShape shape, int n, int m, NmGroupOrder order) {
        PrunableLayer layer = layer(shape, 11);
        float[] c = LearnTestData.gaussianArray(shape.size(), 1.0, 12);
        GumbelNmMask g = GumbelNmMask.create(layer, GumbelNmMask.builder().nm(n, m).seed(3).groupOrder(order).build());
        SplittableRandom rng = new SplittableRandom(5);
        // spread logits so the softmax is not uniform
        float[] logits = g.logits();
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) (2 * rng.nextDouble() - 1);
        }
        double[] noise = g.sampleGumbel(rng);
        for (double tau : new double[] {1.0, 0.5}) {
            for (boolean st : new boolean[] {false, true}) {
                SoftMask sm = g.softMask(tau, noise, st);
                float[] dLdMask = new float[shape.size()];
                for (int i = 0; i < dLdMask.length; i++) {
                    dLdMask[i] = c[i] * layer.weights()[i];
                }
                float[] grad = g.backward(sm, dLdMask);
                double[] a = new double[logits.length];
                for (int i = 0; i < a.length; i++) {
                    a[i] = logits[i];
                }
                double h = 1e-5;
                for (int i = 0; i < a.length; i++) {
                    double keep = a[i];
                    a[i] = keep + h;
                    double up = referenceLoss(g, a, noise, tau, layer.weights(), c);
                    a[i] = keep - h;
                    double down = referenceLoss(g, a, noise, tau, layer.weights(), c);
                    a[i] = keep;
                    double fd = (up - down) / (2 * h);
                    assertEquals(fd, grad[i], 1e-5 + 1e-4 * Math.abs(fd), "logit " + i + " tau " + tau + " st " + st);
                }
                if (!st) { // the soft forward equals the reference
                    double direct = 0;
                    for (int i = 0; i < dLdMask.length; i++) {
                        direct += dLdMask[i] * sm.mask()[i];
                    }
                    assertEquals(referenceLoss(g, a, noise, tau, layer.weights(), c), direct, 1e-4);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("ordered")
    void hardAndStraightThroughMasksAreNm(LayerShape shape, int n, int m, NmGroupOrder order) {
        PrunableLayer layer = layer(shape, 21);
        for (GumbelNmMask.Init init : GumbelNmMask.Init.values()) {
            GumbelNmMask g = GumbelNmMask.create(layer, GumbelNmMask.builder().nm(n, m).init(init).groupOrder(order).build());
            Mask hard = g.hardMask();
            assertTrue(NmMagnitudePruner.satisfiesNm(hard, n, m, order));
            assertEquals(new NmMagnitudePruner(n, m).fixedZeros(shape).getAsInt(), hard.zeroCount(),
                    "full blocks keep exactly N, a padded block keeps its real positions");
            SoftMask st = g.softMask(1.0, new SplittableRandom(1), true);
            Mask stMask = Mask.fromFloats(shape, st.mask());
            assertTrue(NmMagnitudePruner.satisfiesNm(stMask, n, m, order));
            SoftMask soft = g.softMask(1.0, new SplittableRandom(1), false);
            for (int r = 0; r < shape.outputs(); r++) {
                for (int start = 0; start + m <= shape.k(); start += m) {
                    double sum = 0;
                    for (int j = 0; j < m; j++) {
                        float v = soft.mask()[shape.index(r, order.originalK(shape, start + j))];
                        assertTrue(v >= 0 && v <= 1);
                        sum += v;
                    }
                    assertEquals(n, sum, 1e-5, "a full soft block sums to N");
                }
            }
        }
    }

    @Test
    void argmaxPicksTheLargestLogit() {
        LayerShape s = LayerShape.conv(3, 2, 3, 3); // K = 18, 5 groups
        GumbelNmMask g = GumbelNmMask.create(layer(s, 1), GumbelNmMask.Config.defaults());
        SplittableRandom r = new SplittableRandom(9);
        float[] a = g.logits();
        int[] expected = new int[s.outputs() * g.groupCount()];
        for (int b = 0; b < expected.length; b++) {
            do { // the padded last block (2 real positions) only allows the pattern keeping both
                expected[b] = r.nextInt(6);
            } while (!g.isValidPattern(b % g.groupCount(), expected[b]));
            for (int p = 0; p < 6; p++) {
                a[b * 6 + p] = p == expected[b] ? 1.5f : (float) r.nextDouble();
            }
        }
        assertArrayEquals(expected, g.argmaxPatterns());
        a[(g.groupCount() - 1) * 6 + 5] = 100f; // an invalid pattern never wins
        assertEquals(0, g.argmaxPatterns()[g.groupCount() - 1]);
        Mask hard = g.hardMask();
        NmPatterns p = g.patterns();
        for (int row = 0; row < s.outputs(); row++) {
            for (int gr = 0; gr < g.groupCount(); gr++) {
                for (int j = 0; j < 4 && gr * 4 + j < s.k(); j++) {
                    assertEquals(p.keeps(expected[row * g.groupCount() + gr], j), hard.isKept(row, gr * 4 + j));
                }
            }
        }
        // ties go to the first (lowest-index) pattern
        java.util.Arrays.fill(a, 0.25f);
        for (int best : g.argmaxPatterns()) {
            assertEquals(0, best);
        }
    }

    @ParameterizedTest
    @MethodSource("ordered")
    void magnitudeInitArgmaxIsTheMagnitudeMask(LayerShape shape, int n, int m, NmGroupOrder order) {
        for (long seed = 30; seed < 33; seed++) {
            PrunableLayer layer = layer(shape, seed);
            GumbelNmMask g = GumbelNmMask.create(layer,
                    GumbelNmMask.builder().nm(n, m).init(GumbelNmMask.Init.MAGNITUDE).groupOrder(order).build());
            assertEquals(new NmMagnitudePruner(n, m, order).makeMask(layer), g.hardMask());
        }
    }

    @Test
    void weightsAreNeverModified() {
        PrunableLayer layer = layer(LayerShape.conv(8, 4, 3, 3), 77);
        float[] before = layer.weights().clone();
        for (GumbelNmMask.Init init : GumbelNmMask.Init.values()) {
            GumbelNmMask g = GumbelNmMask.create(layer, GumbelNmMask.builder().init(init).build());
            AdamW opt = new AdamW(AdamW.Config.defaults(), g.logitCount());
            SplittableRandom r = new SplittableRandom(2);
            for (int step = 0; step < 3; step++) {
                SoftMask sm = g.softMask(1.0, r, step % 2 == 0);
                opt.step(g.logits(), g.backward(sm, layer.weights()));
            }
            g.hardMask();
        }
        for (int i = 0; i < before.length; i++) {
            assertEquals(Float.floatToRawIntBits(before[i]), Float.floatToRawIntBits(layer.weights()[i]), "weight " + i);
        }
    }

    @Test
    void trainingTowardsATargetMaskRecoversIt() {
        // learn logits so that W * m reproduces W * target (target an N:M mask): the argmax must find it
        LayerShape s = LayerShape.dense(4, 16);
        PrunableLayer layer = layer(s, 5);
        Mask target = new NmMagnitudePruner(2, 4).makeMask(LearnTestData.layer("t", s, 1.0, 99));
        float[] t = target.toFloatArray();
        GumbelNmMask g = GumbelNmMask.create(layer, GumbelNmMask.builder().seed(8).build());
        AdamW opt = new AdamW(AdamW.builder().learningRate(0.05).build(), g.logitCount());
        SplittableRandom r = new SplittableRandom(4);
        TemperatureSchedule tau = TemperatureSchedule.exponential(1.0, 0.3, 300);
        float[] w = layer.weights();
        for (int step = 0; step < 400; step++) {
            SoftMask sm = g.softMask(tau.tau(step), r, false);
            float[] d = new float[w.length];
            for (int i = 0; i < w.length; i++) {
                d[i] = 2 * w[i] * (w[i] * sm.mask()[i] - w[i] * t[i]); // d/dm of (W m - W t)^2
            }
            opt.step(g.logits(), g.backward(sm, d));
        }
        assertEquals(target, g.hardMask());
    }

    @Test
    void rejectsBadArguments() {
        GumbelNmMask g = GumbelNmMask.create(layer(LayerShape.dense(2, 8), 1), GumbelNmMask.Config.defaults());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> g.softMask(0.0, new SplittableRandom(1), false));
        assertTrue(e.getMessage().contains("tau"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> g.softMask(1.0, new double[3], false));
        assertThrows(IllegalArgumentException.class,
                () -> GumbelNmMask.fromLogits(LayerShape.dense(2, 8), 2, 4, new float[5]));
        assertThrows(IllegalArgumentException.class, () -> GumbelNmMask.builder().nm(3, 2).build());
        GumbelNmMask copy = GumbelNmMask.fromLogits(g.shape(), 2, 4, g.logits());
        assertEquals(g.hardMask(), copy.hardMask());
        assertTrue(GumbelNmMask.Config.defaults().toString().contains("init=GLOROT"));
    }
}
