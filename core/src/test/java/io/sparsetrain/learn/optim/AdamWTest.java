package io.sparsetrain.learn.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class AdamWTest {

    @Test
    void matchesHandComputedSteps() {
        AdamW.Config c = AdamW.builder().learningRate(0.1).weightDecay(0.5).build();
        AdamW opt = new AdamW(c, 1);
        double[] p = {2.0};
        double m = 0;
        double v = 0;
        double ref = 2.0;
        double[] grads = {0.3, -1.2, 0.7};
        for (int t = 1; t <= grads.length; t++) {
            double g = grads[t - 1];
            opt.step(p, new double[] {g});
            m = 0.9 * m + 0.1 * g;
            v = 0.999 * v + 0.001 * g * g;
            double mh = m / (1 - Math.pow(0.9, t));
            double vh = v / (1 - Math.pow(0.999, t));
            ref = ref - 0.1 * 0.5 * ref - 0.1 * mh / (Math.sqrt(vh) + 1e-8);
            assertEquals(ref, p[0], 1e-12, "step " + t);
        }
        assertEquals(3, opt.stepCount());
    }

    @Test
    void firstStepMovesByLearningRateWithoutDecay() {
        AdamW opt = new AdamW(AdamW.builder().learningRate(0.01).weightDecay(0).build(), 3);
        float[] p = {1f, -1f, 0f};
        opt.step(p, new float[] {5f, -0.001f, 0f});
        assertEquals(0.99f, p[0], 1e-6);
        assertEquals(-0.99f, p[1], 1e-4);
        assertEquals(0f, p[2], 0f);
    }

    @Test
    void minimisesAQuadratic() {
        AdamW opt = new AdamW(AdamW.builder().learningRate(0.05).weightDecay(0).build(), 4);
        float[] p = {3f, -2f, 0.5f, 10f};
        float[] target = {1f, 1f, -1f, 0f};
        for (int it = 0; it < 2000; it++) {
            float[] g = new float[4];
            for (int i = 0; i < 4; i++) {
                g[i] = 2 * (p[i] - target[i]);
            }
            opt.step(p, g);
        }
        for (int i = 0; i < 4; i++) {
            assertEquals(target[i], p[i], 1e-2);
        }
    }

    @Test
    void weightDecayAloneShrinks() {
        AdamW opt = new AdamW(AdamW.builder().learningRate(0.1).weightDecay(0.1).build(), 1);
        float[] p = {1f};
        opt.step(p, new float[] {0f});
        assertEquals(0.99f, p[0], 1e-7);
    }

    @Test
    void rejectsBadSettingsAndSizes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AdamW.builder().beta1(1.0).build());
        assertTrue(e.getMessage().contains("beta1"), e.getMessage());
        AdamW opt = new AdamW(AdamW.Config.defaults(), 2);
        e = assertThrows(IllegalArgumentException.class, () -> opt.step(new float[3], new float[3]));
        assertTrue(e.getMessage().contains("2"), e.getMessage());
        assertTrue(AdamW.Config.defaults().toString().contains("weightDecay=0.01"));
    }
}
