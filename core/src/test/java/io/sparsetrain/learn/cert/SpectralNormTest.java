package io.sparsetrain.learn.cert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.learn.LearnTestData;
import io.sparsetrain.prune.LayerShape;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SpectralNormTest {

    /** Largest eigenvalue of a small symmetric matrix by cyclic Jacobi rotations. */
    static double jacobiMaxEigenvalue(double[][] s) {
        int n = s.length;
        double[][] a = new double[n][];
        for (int i = 0; i < n; i++) {
            a[i] = s[i].clone();
        }
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    off += a[p][q] * a[p][q];
                }
            }
            if (off < 1e-30) {
                break;
            }
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    if (a[p][q] == 0) {
                        continue;
                    }
                    double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(t * t + 1);
                    double sn = t * c;
                    for (int k = 0; k < n; k++) { // A = J^T A J
                        double akp = a[k][p];
                        double akq = a[k][q];
                        a[k][p] = c * akp - sn * akq;
                        a[k][q] = sn * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++) {
                        double apk = a[p][k];
                        double aqk = a[q][k];
                        a[p][k] = c * apk - sn * aqk;
                        a[q][k] = sn * apk + c * aqk;
                    }
                }
            }
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, a[i][i]);
        }
        return max;
    }

    @Test
    void knownDiagonalCases() {
        assertEquals(5, SpectralNorm.of(new double[] {3, 0, 0, 0, -5, 0, 0, 0, 2}, 3, 3), 1e-9);
        assertEquals(2, SpectralNorm.of(new double[] {1, 0, 0, 0, 0, 2}, 3, 2), 1e-9);
        assertEquals(0, SpectralNorm.of(new double[6], 2, 3), 0);
        assertEquals(Math.sqrt(2) * 3, SpectralNorm.of(new double[] {3, 3}, 1, 2), 1e-12); // rank one
    }

    @Test
    void matchesJacobiOnSmallRandomMatrices() {
        SplittableRandom r = new SplittableRandom(4);
        int[][] sizes = {{4, 6}, {7, 3}, {5, 5}, {1, 8}, {8, 1}};
        for (int[] sz : sizes) {
            for (int trial = 0; trial < 5; trial++) {
                int rows = sz[0];
                int cols = sz[1];
                double[] a = new double[rows * cols];
                for (int i = 0; i < a.length; i++) {
                    a[i] = LearnTestData.gaussian(r);
                }
                double[][] ata = new double[cols][cols];
                for (int i = 0; i < cols; i++) {
                    for (int j = 0; j < cols; j++) {
                        for (int k = 0; k < rows; k++) {
                            ata[i][j] += a[k * cols + i] * a[k * cols + j];
                        }
                    }
                }
                double exact = Math.sqrt(jacobiMaxEigenvalue(ata));
                assertEquals(exact, SpectralNorm.of(a, rows, cols), 1e-7 * exact, rows + "x" + cols);
            }
        }
    }

    @Test
    void layoutsGiveTheSameGemmNorm() {
        float[] w = LearnTestData.gaussianArray(24, 1, 3); // [out=4, in=6] row-major
        float[] t = new float[24];                           // the same matrix stored [in, out]
        for (int o = 0; o < 4; o++) {
            for (int i = 0; i < 6; i++) {
                t[i * 4 + o] = w[o * 6 + i];
            }
        }
        assertEquals(SpectralNorm.matrixNorm(LayerShape.dense(4, 6), w),
                SpectralNorm.matrixNorm(LayerShape.denseInOut(6, 4), t), 1e-12);
    }

    @Test
    void convBoundIsNeverExceeded() {
        LayerShape s = LayerShape.conv(4, 3, 3, 3);
        float[] w = LearnTestData.gaussianArray(s.size(), 1, 8);
        double bound = SpectralNorm.operatorBound(s, w);
        assertEquals(3 * SpectralNorm.matrixNorm(s, w), bound, 1e-9);
        SplittableRandom r = new SplittableRandom(2);
        double worst = 0;
        for (int trial = 0; trial < 200; trial++) {
            double[][][] x = new double[3][6][5];
            double xx = 0;
            for (double[][] plane : x) {
                for (double[] row : plane) {
                    for (int i = 0; i < row.length; i++) {
                        row[i] = trial % 2 == 0 ? LearnTestData.gaussian(r) : 1.0; // also a constant image
                        xx += row[i] * row[i];
                    }
                }
            }
            double yy = 0;
            for (int o = 0; o < 4; o++) {
                for (int y = 0; y < 6; y++) {
                    for (int z = 0; z < 5; z++) {
                        double sum = 0;
                        for (int c = 0; c < 3; c++) {
                            for (int i = 0; i < 3; i++) {
                                for (int j = 0; j < 3; j++) {
                                    int yi = y + i - 1;
                                    int zj = z + j - 1;
                                    if (yi >= 0 && yi < 6 && zj >= 0 && zj < 5) {
                                        sum += w[((o * 3 + c) * 3 + i) * 3 + j] * x[c][yi][zj];
                                    }
                                }
                            }
                        }
                        yy += sum * sum;
                    }
                }
            }
            double ratio = Math.sqrt(yy / xx);
            worst = Math.max(worst, ratio);
            assertTrue(ratio <= bound, "conv gain " + ratio + " above the bound " + bound);
        }
        assertTrue(worst > 0.2 * bound, "the bound is not absurdly loose: " + worst + " vs " + bound);
    }
}
