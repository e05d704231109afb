package io.sparsetrain.learn.alloc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class StandardNormalTest {

    @Test
    void erfMatchesTabulatedValues() {
        // reference values to 16 digits (Wolfram / mpmath)
        double[][] table = {
            {0.0, 0.0}, {0.1, 0.1124629160182849}, {0.5, 0.5204998778130465}, {1.0, 0.8427007929497149},
            {1.5, 0.9661051464753108}, {2.0, 0.9953222650189527}, {2.9, 0.9999589021219005},
            {3.0, 0.9999779095030014}, {3.5, 0.9999992569016276}, {5.0, 0.9999999999984626}};
        for (double[] row : table) {
            assertEquals(row[1], StandardNormal.erf(row[0]), 1e-14, "erf(" + row[0] + ")");
            assertEquals(-row[1], StandardNormal.erf(-row[0]), 1e-14);
        }
        assertEquals(2.209049699858544e-05, StandardNormal.erfc(3.0), 1e-18);
        assertEquals(1.5374597944280349e-12, StandardNormal.erfc(5.0), 1e-24);
        assertEquals(2 - 2.209049699858544e-05, StandardNormal.erfc(-3.0), 1e-14);
    }

    @Test
    void cdfAndPdf() {
        assertEquals(0.5, StandardNormal.cdf(0), 1e-15);
        assertEquals(0.8413447460685429, StandardNormal.cdf(1), 1e-14);
        assertEquals(0.022750131948179195, StandardNormal.cdf(-2), 1e-15);
        assertEquals(0.3989422804014327, StandardNormal.pdf(0), 1e-15);
        double h = 1e-5;
        for (double x = -6; x <= 6; x += 0.37) {
            double fd = (StandardNormal.cdf(x + h) - StandardNormal.cdf(x - h)) / (2 * h);
            assertEquals(StandardNormal.pdf(x), fd, 1e-9, "x=" + x);
        }
    }
}
