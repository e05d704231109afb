package io.sparsetrain.learn.cert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.learn.LearnTestData;
import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.Mask;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class StabilityCertificateTest {
    private static final LayerShape L1 = LayerShape.dense(10, 6);
    private static final LayerShape L2 = LayerShape.dense(4, 10);

    /** softmax(W2 relu(W1 x + b1) + b2). */
    static double[] mlp(float[] w1, float[] b1, float[] w2, float[] b2, double[] x) {
        double[] h = new double[10];
        for (int o = 0; o < 10; o++) {
            double s = b1[o];
            for (int i = 0; i < 6; i++) {
                s += w1[o * 6 + i] * x[i];
            }
            h[o] = Math.max(0, s);
        }
        double[] z = new double[4];
        double max = Double.NEGATIVE_INFINITY;
        for (int o = 0; o < 4; o++) {
            double s = b2[o];
            for (int i = 0; i < 10; i++) {
                s += w2[o * 10 + i] * h[i];
            }
            z[o] = s;
            max = Math.max(max, s);
        }
        double sum = 0;
        for (int o = 0; o < 4; o++) {
            z[o] = Math.exp(z[o] - max);
            sum += z[o];
        }
        for (int o = 0; o < 4; o++) {
            z[o] /= sum;
        }
        return z;
    }

    static int argmax(double[] p) {
        int a = 0;
        for (int i = 1; i < p.length; i++) {
            if (p[i] > p[a]) {
                a = i;
            }
        }
        return a;
    }

    @Test
    void certifiedPredictionsNeverChangeUnderMasking() {
        float[] w1 = LearnTestData.gaussianArray(L1.size(), 0.3, 1);
        float[] b1 = LearnTestData.gaussianArray(10, 0.1, 2);
        float[] w2 = LearnTestData.gaussianArray(L2.size(), 0.3, 3);
        float[] b2 = {2f, 0f, -1f, 0.5f};
        double[] norms = {SpectralNorm.matrixNorm(L1, w1), SpectralNorm.matrixNorm(L2, w2)};
        SplittableRandom r = new SplittableRandom(7);
        int certified = 0;
        int certifiedLoose = 0;
        int flipsSeen = 0;
        int samples = 0;
        for (int trial = 0; trial < 100; trial++) {
            int masked = trial % 2;
            LayerShape s = masked == 0 ? L1 : L2;
            float[] w = masked == 0 ? w1 : w2;
            boolean[] keep = new boolean[s.size()];
            double keepProb = 0.3 + 0.65 * r.nextDouble();
            for (int i = 0; i < keep.length; i++) {
                keep[i] = r.nextDouble() < keepProb;
            }
            Mask mask = Mask.fromKeep(s, keep);
            float[] wm = w.clone();
            mask.applyTo(wm);
            StabilityCertificate tight = StabilityCertificate.builder(norms, masked,
                    SpectralNorm.perturbationBound(s, w, mask)).build();             // lemma 3.4
            StabilityCertificate loose = StabilityCertificate.builder(norms, masked, norms[masked]).build(); // lemma 3.5
            assertTrue(loose.factor() >= tight.factor());
            for (int k = 0; k < 40; k++) {
                double scale = Math.exp(-4 + 5 * r.nextDouble());
                double[] x = new double[6];
                for (int i = 0; i < 6; i++) {
                    x[i] = scale * LearnTestData.gaussian(r);
                }
                double[] p = mlp(w1, b1, w2, b2, x);
                double[] pm = masked == 0 ? mlp(wm, b1, w2, b2, x) : mlp(w1, b1, wm, b2, x);
                samples++;
                boolean changed = argmax(p) != argmax(pm);
                flipsSeen += changed ? 1 : 0;
                // the bound itself: the probabilities moved by at most B(x)
                double moved = 0;
                for (int i = 0; i < 4; i++) {
                    moved += (p[i] - pm[i]) * (p[i] - pm[i]);
                }
                assertTrue(Math.sqrt(moved) <= tight.bound(x) + 1e-12, "output moved beyond B(x)");
                if (tight.certified(x, p)) {
                    certified++;
                    assertTrue(!changed, "certified sample changed its prediction");
                }
                if (loose.certified(x, p)) {
                    certifiedLoose++;
                    assertTrue(tight.certified(x, p), "lemma 3.5 certifies a subset of lemma 3.4");
                }
            }
        }
        assertTrue(certified > samples / 10, "certified " + certified + " of " + samples);
        assertTrue(certifiedLoose > 0 && certifiedLoose <= certified);
        assertTrue(flipsSeen > 0, "some uncertified samples do flip, so the check is not vacuous");
    }

    @Test
    void boundFormula() {
        StabilityCertificate c = StabilityCertificate.builder(new double[] {2, 3, 5}, 1, 0.5).rho(2).depth(3)
                .normSafety(1).build();
        assertEquals(0.7 * 8 * 0.5 * 2 * 5, c.bound(0.7), 1e-12);
        assertTrue(c.certified(0.001, 0.9, 0.05));
        assertTrue(!c.certified(1, 0.9, 0.05));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StabilityCertificate.builder(new double[] {1}, 1, 0.5).build());
        assertTrue(e.getMessage().contains("maskedLayer"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> c.certified(1, 0.1, 0.2));
    }

    @Test
    void decisionRuleAlone() {
        // margin 0.85 / sqrt(2) = 0.6010...
        assertTrue(StabilityCertificate.certifies(0.6, 0.9, 0.05));
        assertTrue(!StabilityCertificate.certifies(0.602, 0.9, 0.05));
        assertTrue(!StabilityCertificate.certifies(0, 0.5, 0.5), "no margin: nothing is certified");
        StabilityCertificate c = StabilityCertificate.builder(new double[] {2, 3}, 0, 0.5).normSafety(1).build();
        assertEquals(c.certified(0.3, 0.9, 0.05), StabilityCertificate.certifies(c.bound(0.3), 0.9, 0.05));
        assertThrows(IllegalArgumentException.class, () -> StabilityCertificate.certifies(-1, 0.9, 0.05));
        assertThrows(IllegalArgumentException.class, () -> StabilityCertificate.certifies(0.1, 0.1, 0.2));
    }
}
