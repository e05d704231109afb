package io.sparsetrain.learn.alloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.learn.LearnTestData;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class KlDivergenceTest {

    @Test
    void gradientMatchesFiniteDifferences() {
        SplittableRandom r = new SplittableRandom(1);
        int batch = 5;
        int classes = 7;
        double[] p = new double[batch * classes];
        double[] q = new double[batch * classes];
        for (int i = 0; i < p.length; i++) {
            p[i] = 3 * LearnTestData.gaussian(r);
            q[i] = p[i] + LearnTestData.gaussian(r);
        }
        double[] g = KlDivergence.gradient(p, q, classes);
        double h = 1e-6;
        for (int i = 0; i < q.length; i++) {
            double keep = q[i];
            q[i] = keep + h;
            double up = KlDivergence.loss(p, q, classes);
            q[i] = keep - h;
            double down = KlDivergence.loss(p, q, classes);
            q[i] = keep;
            assertEquals((up - down) / (2 * h), g[i], 1e-8, "logit " + i);
        }
    }

    @Test
    void zeroForEqualDistributionsAndPositiveOtherwise() {
        double[] p = {1, 2, 3, -1, 0, 1000};
        double[] shifted = {11, 12, 13, 4, 5, 1005}; // softmax is shift invariant per row
        assertEquals(0, KlDivergence.loss(p, shifted, 3), 1e-12);
        assertTrue(KlDivergence.loss(p, new double[] {3, 2, 1, 0, 0, 0}, 3) > 0);
        assertTrue(Double.isFinite(KlDivergence.loss(p, new double[] {0, 0, 0, -1000, 0, 0}, 3)));
        assertThrows(IllegalArgumentException.class, () -> KlDivergence.loss(p, new double[5], 3));
        assertThrows(IllegalArgumentException.class, () -> KlDivergence.loss(new double[5], new double[5], 3));
    }
}
