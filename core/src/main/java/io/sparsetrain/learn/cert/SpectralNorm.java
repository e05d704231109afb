package io.sparsetrain.learn.cert;

import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.Mask;
import java.util.SplittableRandom;

/**
 * Spectral norms (largest singular values) by power iteration on W^T W, seeded and deterministic.
 * Power iteration approaches sigma_max from below; it stops when the estimate changes by less than
 * {@code tolerance} (relative) between iterations, which on the small matrices of a network layer means
 * the estimate is within about that tolerance of sigma_max unless the top singular values are nearly
 * equal (then it is close to both). {@link StabilityCertificate} multiplies by a safety factor.
 *
 * <p><b>Convolutions.</b> {@link #operatorBound} returns sqrt(kh*kw) * ||W||_2 of the GEMM matrix
 * W = [Cout, K]: a rigorous upper bound on the norm of the convolution as a linear map of feature maps
 * for any stride &gt;= 1 and zero padding, because the conv is W times the im2col matrix of the input,
 * and im2col copies each input element into at most kh*kw columns, so ||im2col(x)||_F &lt;= sqrt(kh*kw) ||x||.
 * It is not the exact operator norm (that needs the Fourier method of Sedghi et al.); tests check it is
 * never exceeded.
 */
public final class SpectralNorm {
    public static final double DEFAULT_TOLERANCE = 1e-10;
    public static final int DEFAULT_MAX_ITERATIONS = 2000;
    public static final long DEFAULT_SEED = 1234L;

    private SpectralNorm() {
    }

    /** sigma_max of a row-major [rows, cols] matrix with the default tolerance, iterations and seed. */
    public static double of(double[] a, int rows, int cols) {
        return powerIteration(a, rows, cols, DEFAULT_SEED, DEFAULT_TOLERANCE, DEFAULT_MAX_ITERATIONS);
    }

    /**
     * sigma_max of a row-major [rows, cols] matrix by power iteration.
     *
     * @param tolerance stop when |sigma_k - sigma_{k-1}| &lt;= tolerance * sigma_k
     */
    public static double powerIteration(double[] a, int rows, int cols, long seed, double tolerance, int maxIterations) {
        if (rows < 1 || cols < 1 || a.length != (long) rows * cols) {
            throw new IllegalArgumentException("matrix of length " + a.length + " is not [" + rows + ", " + cols + "]");
        }
        if (!(tolerance > 0) || maxIterations < 1) {
            throw new IllegalArgumentException("need tolerance > 0 and maxIterations >= 1, got " + tolerance + " and "
                    + maxIterations);
        }
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[cols];
        for (int j = 0; j < cols; j++) {
            v[j] = r.nextDouble() - 0.5 + 1e-3; // generic start: not orthogonal to the top vector
        }
        if (normalize(v) == 0) {
            return 0;
        }
        double[] u = new double[rows];
        double sigma = 0;
        for (int it = 0; it < maxIterations; it++) {
            for (int i = 0; i < rows; i++) {
                double s = 0;
                for (int j = 0; j < cols; j++) {
                    s += a[i * cols + j] * v[j];
                }
                u[i] = s;
            }
            if (normalize(u) == 0) {
                return 0; // v in the null space: a zero matrix (a generic start has a top component otherwise)
            }
            java.util.Arrays.fill(v, 0);
            for (int i = 0; i < rows; i++) {
                double ui = u[i];
                for (int j = 0; j < cols; j++) {
                    v[j] += a[i * cols + j] * ui;
                }
            }
            double next = normalize(v); // ||W^T u|| with u = W v / ||W v||
            boolean done = Math.abs(next - sigma) <= tolerance * next;
            sigma = next;
            if (done) {
                break;
            }
        }
        return sigma;
    }

    private static double normalize(double[] x) {
        double s = 0;
        for (double d : x) {
            s += d * d;
        }
        double n = Math.sqrt(s);
        if (n > 0) {
            for (int i = 0; i < x.length; i++) {
                x[i] /= n;
            }
        }
        return n;
    }

    /** The GEMM matrix [outputs, K] of a layer (any layout), in double. */
    public static double[] gemmMatrix(LayerShape shape, float[] w) {
        if (w.length != shape.size()) {
            throw new IllegalArgumentException("weights have length " + w.length + ", shape " + shape + " has "
                    + shape.size());
        }
        int rows = shape.outputs();
        int k = shape.k();
        double[] a = new double[rows * k];
        for (int o = 0; o < rows; o++) {
            for (int j = 0; j < k; j++) {
                a[o * k + j] = w[shape.index(o, j)];
            }
        }
        return a;
    }

    /** ||W||_2 of the layer's GEMM matrix [outputs, K]. */
    public static double matrixNorm(LayerShape shape, float[] w) {
        return of(gemmMatrix(shape, w), shape.outputs(), shape.k());
    }

    /**
     * Upper bound on the layer's operator norm as a linear map: ||W||_2 for a dense layer,
     * sqrt(kh*kw) * ||W||_2 of [Cout, K] for a convolution (see the class comment).
     */
    public static double operatorBound(LayerShape shape, float[] w) {
        return Math.sqrt(shape.kernelSize()) * matrixNorm(shape, w);
    }

    /**
     * Operator-norm bound of the masking perturbation D = -(1 - m) * W (the pruned part of W), the tight
     * ||D|| of the paper's lemma 3.4; lemma 3.5 bounds it by ||W|| for any mask.
     */
    public static double perturbationBound(LayerShape shape, float[] w, Mask mask) {
        if (!mask.shape().equals(shape)) {
            throw new IllegalArgumentException("mask shape " + mask.shape() + " differs from layer shape " + shape);
        }
        float[] d = new float[w.length];
        for (int i = 0; i < w.length; i++) {
            d[i] = mask.isKept(i) ? 0f : -w[i];
        }
        return operatorBound(shape, d);
    }
}
