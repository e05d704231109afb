package io.sparsetrain.kernels;

import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Fully connected products, dense and N:M, against plain loops. */
class DenseLayerKernelsTest {

    static final KernelThreads TWO = new KernelThreads(2);

    @AfterAll
    static void close() {
        TWO.close();
    }

    @ParameterizedTest(name = "batch={0} in={1} out={2} {3}:{4}")
    @CsvSource({"1, 1, 1, 1, 4", "1, 9, 3, 2, 4", "5, 37, 17, 2, 4", "64, 300, 100, 2, 4", "3, 70, 11, 4, 8", "33, 129, 65, 1, 4"})
    void matchesLoops(int batch, int in, int out, int n, int m) {
        SplittableRandom rnd = new SplittableRandom(batch * 7L + in * 3L + out);
        float[] x = TestData.random(rnd, batch * in);
        float[] dy = TestData.random(rnd, batch * out);
        float[] w = TestData.random(rnd, out * in);
        NmMatrix nm = NmMatrix.fromDense(w, TestData.nmMask(rnd, out, in, n, m, false), out, in, n, m);
        float[] wp = nm.toDense();
        float[] mask = nm.mask();

        float[] y = new float[batch * out];
        float[] yp = new float[batch * out];
        float[] dx = new float[batch * in];
        float[] dxp = new float[batch * in];
        float[] dw = new float[out * in];
        float[] dwp = new float[out * in];
        for (int b = 0; b < batch; b++) {
            for (int o = 0; o < out; o++) {
                for (int i = 0; i < in; i++) {
                    y[b * out + o] += x[b * in + i] * w[o * in + i];
                    yp[b * out + o] += x[b * in + i] * wp[o * in + i];
                    dx[b * in + i] += dy[b * out + o] * w[o * in + i];
                    dxp[b * in + i] += dy[b * out + o] * wp[o * in + i];
                    dw[o * in + i] += dy[b * out + o] * x[b * in + i];
                    dwp[o * in + i] += dy[b * out + o] * x[b * in + i] * mask[o * in + i];
                }
            }
        }
        for (GemmKernels g : new GemmKernels[] {new ScalarGemm(), KernelProvider.vector(TWO)}) {
            DenseLayerKernels layer = new DenseLayerKernels(g);
            GemmKernelsTest.assertClose(y, layer.forward(x, w, batch, in, out), g.name() + " forward");
            GemmKernelsTest.assertClose(yp, layer.forward(x, nm, batch), g.name() + " N:M forward");
            GemmKernelsTest.assertClose(dx, layer.backwardInput(dy, w, batch, in, out), g.name() + " backwardInput");
            GemmKernelsTest.assertClose(dxp, layer.backwardInput(dy, nm, batch), g.name() + " N:M backwardInput");
            GemmKernelsTest.assertClose(dw, layer.backwardWeight(x, dy, batch, in, out), g.name() + " backwardWeight");
            float[] dwSlots = layer.backwardWeight(x, dy, nm, batch);
            float[] dwDense = new float[out * in];
            nm.scatterSlots(dwSlots, dwDense);
            GemmKernelsTest.assertClose(dwp, dwDense, g.name() + " N:M backwardWeight");
        }
    }
}
