package io.sparsetrain.kernels;

import java.util.SplittableRandom;

/** Random matrices and N:M masks for the kernel tests. */
final class TestData {

    private TestData() {
    }

    static float[] random(SplittableRandom rnd, int size) {
        float[] a = new float[size];
        for (int i = 0; i < size; i++) {
            a[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return a;
    }

    /**
     * A random N:M mask [rows, K]: each group keeps N entries (or fewer when {@code sometimesFewer}
     * and the dice say so, including empty groups), never positions past K.
     */
    static float[] nmMask(SplittableRandom rnd, int rows, int k, int n, int m, boolean sometimesFewer) {
        float[] mask = new float[rows * k];
        int groups = (k + m - 1) / m;
        int[] perm = new int[m];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                int width = Math.min(m, k - g * m);
                for (int i = 0; i < width; i++) {
                    perm[i] = i;
                }
                for (int i = width - 1; i > 0; i--) {
                    int j = rnd.nextInt(i + 1);
                    int t = perm[i];
                    perm[i] = perm[j];
                    perm[j] = t;
                }
                int keep = Math.min(n, width);
                if (sometimesFewer && rnd.nextInt(4) == 0) {
                    keep = rnd.nextInt(keep + 1);
                }
                for (int i = 0; i < keep; i++) {
                    mask[r * k + g * m + perm[i]] = 1f;
                }
            }
        }
        return mask;
    }

    /** ||actual - expected||_2 / max(||expected||_2, tiny). */
    static double relativeError(float[] expected, float[] actual, int size) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < size; i++) {
            double d = (double) actual[i] - expected[i];
            num += d * d;
            den += (double) expected[i] * expected[i];
        }
        return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
    }
}
