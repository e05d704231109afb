package io.sparsetrain.kernels;

import java.util.Arrays;

/**
 * Plain scalar loops: the reference every fast kernel is tested against, and the fallback when
 * {@code jdk.incubator.vector} is absent. Single-threaded. The N:M methods read the compressed
 * format directly ({@link NmMatrix#index}, {@link NmMatrix#keptCount}), not the kernel layout.
 */
public final class ScalarGemm implements GemmKernels {

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public void gemm(float[] a, float[] b, float[] c, int m, int k, int n) {
        GemmKernels.checkGemm(a, b, c, m, k, n);
        Arrays.fill(c, 0, m * n, 0f);
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) {
                float av = a[i * k + p];
                int bo = p * n;
                int co = i * n;
                for (int j = 0; j < n; j++) {
                    c[co + j] += av * b[bo + j];
                }
            }
        }
    }

    @Override
    public void gemmTransA(float[] a, float[] b, float[] c, int m, int k, int n) {
        GemmKernels.checkGemm(a, b, c, m, k, n);
        Arrays.fill(c, 0, m * n, 0f);
        for (int p = 0; p < k; p++) {
            for (int i = 0; i < m; i++) {
                float av = a[p * m + i];
                int bo = p * n;
                int co = i * n;
                for (int j = 0; j < n; j++) {
                    c[co + j] += av * b[bo + j];
                }
            }
        }
    }

    @Override
    public void gemmTransB(float[] a, float[] b, float[] c, int m, int k, int n) {
        GemmKernels.checkGemm(a, b, c, m, k, n);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float s = 0f;
                for (int p = 0; p < k; p++) {
                    s += a[i * k + p] * b[j * k + p];
                }
                c[i * n + j] = s;
            }
        }
    }

    @Override
    public void nmForward(NmMatrix w, float[] x, float[] y, int cols) {
        GemmKernels.checkNm(w, x, w.k(), y, w.rows(), cols, "x", "y");
        float[] values = w.values();
        int n = w.format().n();
        int m = w.format().m();
        Arrays.fill(y, 0, w.rows() * cols, 0f);
        for (int r = 0; r < w.rows(); r++) {
            for (int g = 0; g < w.groups(); g++) {
                int kept = w.keptCount(r, g);
                for (int j = 0; j < kept; j++) {
                    float v = values[(r * w.groups() + g) * n + j];
                    int xo = (g * m + w.index(r, g, j)) * cols;
                    for (int c = 0; c < cols; c++) {
                        y[r * cols + c] += v * x[xo + c];
                    }
                }
            }
        }
    }

    @Override
    public void nmBackwardInput(NmMatrix w, float[] dy, float[] dx, int cols) {
        GemmKernels.checkNm(w, dy, w.rows(), dx, w.k(), cols, "dy", "dx");
        float[] values = w.values();
        int n = w.format().n();
        int m = w.format().m();
        Arrays.fill(dx, 0, w.k() * cols, 0f);
        for (int r = 0; r < w.rows(); r++) {
            for (int g = 0; g < w.groups(); g++) {
                int kept = w.keptCount(r, g);
                for (int j = 0; j < kept; j++) {
                    float v = values[(r * w.groups() + g) * n + j];
                    int xo = (g * m + w.index(r, g, j)) * cols;
                    for (int c = 0; c < cols; c++) {
                        dx[xo + c] += v * dy[r * cols + c];
                    }
                }
            }
        }
    }

    @Override
    public void nmBackwardWeight(NmMatrix w, float[] dy, float[] x, int cols, float[] dwSlots) {
        GemmKernels.checkNm(w, x, w.k(), dy, w.rows(), cols, "x", "dy");
        GemmKernels.checkLength("dwSlots", dwSlots, w.slots());
        int n = w.format().n();
        int m = w.format().m();
        Arrays.fill(dwSlots, 0, w.slots(), 0f);
        for (int r = 0; r < w.rows(); r++) {
            for (int g = 0; g < w.groups(); g++) {
                int kept = w.keptCount(r, g);
                for (int j = 0; j < kept; j++) {
                    int xo = (g * m + w.index(r, g, j)) * cols;
                    float s = 0f;
                    for (int c = 0; c < cols; c++) {
                        s += dy[r * cols + c] * x[xo + c];
                    }
                    dwSlots[(r * w.groups() + g) * n + j] = s;
                }
            }
        }
    }
}
