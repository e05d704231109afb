package io.sparsetrain.benchmarks;

import java.util.SplittableRandom;

/** Shapes and random data shared by the benchmarks. */
final class Shapes {

    private Shapes() {
    }

    /** "rows x K x cols" -> {rows, K, cols}. */
    static int[] gemm(String shape) {
        String[] p = shape.split("x");
        return new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2])};
    }

    /** "channels x size" (3x3 conv, stride 1, padding 1, channels -> channels) -> {channels, size}. */
    static int[] conv(String shape) {
        String[] p = shape.split("x");
        return new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1])};
    }

    static float[] random(long seed, int n) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return a;
    }

    /** Magnitude N:M mask: in each group of M along K keep the N largest |w| (like a pruner would). */
    static float[] magnitudeMask(float[] w, int rows, int k, int n, int m) {
        float[] mask = new float[rows * k];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g * m < k; g++) {
                int width = Math.min(m, k - g * m);
                for (int keep = 0; keep < Math.min(n, width); keep++) {
                    int best = -1;
                    for (int i = 0; i < width; i++) {
                        int at = r * k + g * m + i;
                        if (mask[at] == 0f && (best < 0 || Math.abs(w[at]) > Math.abs(w[best]))) {
                            best = at;
                        }
                    }
                    mask[best] = 1f;
                }
            }
        }
        return mask;
    }
}
