package io.sparsetrain.learn.strbn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class StrBnThresholdTest {
    private final float[] gamma = {0.9f, -0.05f, 0.3f, -0.6f, 0.0f, 0.12f, -0.2f};
    private final float[] c = {0.5f, -1.0f, 2.0f, 0.3f, 1.0f, -0.7f, 1.5f};

    private double loss(StrBnThreshold t, double[] g, double s) {
        double th = t.threshold(s);
        double l = 0;
        for (int i = 0; i < g.length; i++) {
            l += c[i] * Math.signum(g[i]) * Math.max(Math.abs(g[i]) - th, 0);
        }
        return l;
    }

    @Test
    void softThresholdValuesAndDeadChannels() {
        StrBnThreshold t = StrBnThreshold.defaults();
        double s = Math.log(0.15 / 0.85); // sigmoid(s) = 0.15
        assertEquals(0.15, t.threshold(s), 1e-12);
        float[] eff = t.effectiveGamma(gamma, s);
        assertArrayEquals(new float[] {0.75f, 0f, 0.15f, -0.45f, 0f, 0f, -0.05f}, eff, 1e-6f);
        assertArrayEquals(new boolean[] {false, true, false, false, true, true, false}, t.deadChannels(gamma, s));
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        for (StrBnThreshold.ThresholdFunction f : StrBnThreshold.ThresholdFunction.values()) {
            StrBnThreshold t = StrBnThreshold.of(f, -2);
            double s = f == StrBnThreshold.ThresholdFunction.SIGMOID ? Math.log(0.15 / 0.85) : Math.log(0.15);
            StrBnThreshold.Gradients g = t.backward(gamma, s, c);
            double[] gd = new double[gamma.length];
            for (int i = 0; i < gd.length; i++) {
                gd[i] = gamma[i];
            }
            double h = 1e-7;
            for (int i = 0; i < gd.length; i++) {
                double keep = gd[i];
                gd[i] = keep + h;
                double up = loss(t, gd, s);
                gd[i] = keep - h;
                double down = loss(t, gd, s);
                gd[i] = keep;
                assertEquals((up - down) / (2 * h), g.gamma()[i], 1e-6, f + " gamma " + i);
            }
            double fd = (loss(t, gd, s + h) - loss(t, gd, s - h)) / (2 * h);
            assertEquals(fd, g.s(), 1e-6, f + " s");
            assertTrue(g.s() != 0);
        }
    }

    @Test
    void kinkTakesTheZeroSubgradient() {
        StrBnThreshold t = StrBnThreshold.of(StrBnThreshold.ThresholdFunction.EXP, Math.log(0.5));
        StrBnThreshold.Gradients g = t.backward(new float[] {0.5f, -0.5f}, Math.log(0.5), new float[] {1f, 1f});
        assertArrayEquals(new float[] {0f, 0f}, g.gamma());
        assertEquals(0, g.s(), 0);
        assertThrows(IllegalArgumentException.class, () -> t.backward(gamma, 0, new float[2]));
        assertTrue(StrBnThreshold.defaults().toString().contains("SIGMOID"));
    }
}
