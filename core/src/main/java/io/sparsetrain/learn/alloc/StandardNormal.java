package io.sparsetrain.learn.alloc;

/**
 * The standard normal distribution and the error function, to about 1e-15 absolute accuracy, so that the
 * KDE bridge's derivative can be checked against finite differences. erf uses the positive-term series
 * erf(x) = 2/sqrt(pi) e^{-x^2} sum_n (2x^2)^n x / (1*3*...*(2n+1)) for |x| &lt; 3 (no cancellation) and
 * the Laplace continued fraction of erfc for |x| &gt;= 3 (Abramowitz and Stegun 7.1.6 and 7.1.14).
 */
public final class StandardNormal {
    private static final double TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
    private static final double INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
    private static final double SQRT2 = Math.sqrt(2);
    private static final double SERIES_LIMIT = 3.0;
    private static final int CF_DEPTH = 150;

    private StandardNormal() {
    }

    /** The error function. */
    public static double erf(double x) {
        if (Double.isNaN(x)) {
            return x;
        }
        double a = Math.abs(x);
        double r = a < SERIES_LIMIT ? erfSeries(a) : 1 - erfcFraction(a);
        return x < 0 ? -r : r;
    }

    /** The complementary error function 1 - erf(x), accurate in relative terms for large positive x. */
    public static double erfc(double x) {
        if (Double.isNaN(x)) {
            return x;
        }
        double a = Math.abs(x);
        double r = a < SERIES_LIMIT ? 1 - erfSeries(a) : erfcFraction(a);
        return x < 0 ? 2 - r : r;
    }

    private static double erfSeries(double a) {
        double x2 = a * a;
        double term = a;
        double sum = a;
        for (int n = 1; n < 200; n++) {
            term *= 2 * x2 / (2 * n + 1);
            sum += term;
            if (term < 1e-17 * sum) {
                break;
            }
        }
        return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
    }

    /** erfc(a) = e^{-a^2}/sqrt(pi) / (a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))), a &gt;= 3; evaluated backwards. */
    private static double erfcFraction(double a) {
        if (a > 27) {
            return 0; // below Double.MIN_VALUE
        }
        double f = a;
        for (int k = CF_DEPTH; k >= 1; k--) {
            f = a + (k / 2.0) / f;
        }
        return Math.exp(-a * a) / (Math.sqrt(Math.PI) * f);
    }

    /** Cumulative distribution function Phi(x). */
    public static double cdf(double x) {
        return 0.5 * erfc(-x / SQRT2);
    }

    /** Density phi(x). */
    public static double pdf(double x) {
        return INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    }
}
