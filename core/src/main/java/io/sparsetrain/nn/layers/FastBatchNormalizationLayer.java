package io.sparsetrain.nn.layers;

import io.sparsetrain.kernels.KernelThreads;
import java.util.Arrays;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.BaseLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The layer instance of {@link FastBatchNormalization}. */
public class FastBatchNormalizationLayer extends BaseLayer<FastBatchNormalization> {

    private transient Cache cache;

    public FastBatchNormalizationLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    /** xHat [B, C, HW] and 1/std per channel of the last training forward pass. */
    private record Cache(INDArray inputRef, float[] xHat, float[] invStd, int batch, int channels, int hw, boolean frozenStatistics) {
    }

    @Override
    public Type type() {
        return Type.NORMALIZATION;
    }

    @Override
    public boolean isPretrainLayer() {
        return false;
    }

    @Override
    public boolean updaterDivideByMinibatch(String paramName) {
        return !(FastBatchNormalization.MEAN.equals(paramName) || FastBatchNormalization.VAR.equals(paramName));
    }

    @Override
    public double calcRegularizationScore(boolean backpropParamsOnly) {
        return 0;
    }

    private float[] gammaValues(int c) {
        if (layerConf().isLockGammaBeta()) {
            float[] g = new float[c];
            Arrays.fill(g, (float) layerConf().getGamma());
            return g;
        }
        return NdFloats.read(getParam(FastBatchNormalization.GAMMA), 'c');
    }

    private float[] betaValues(int c) {
        if (layerConf().isLockGammaBeta()) {
            float[] b = new float[c];
            Arrays.fill(b, (float) layerConf().getBeta());
            return b;
        }
        return NdFloats.read(getParam(FastBatchNormalization.BETA), 'c');
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(false);
        applyDropOutIfNecessary(training, workspaceMgr);
        int rank = input.rank();
        if (rank != 2 && rank != 4) {
            throw new IllegalArgumentException("layer " + layerConf().getLayerName() + ": batch normalization needs rank 2 or 4 (NCHW) input, got "
                    + Arrays.toString(input.shape()));
        }
        int batch = (int) input.size(0);
        int channels = (int) input.size(1);
        int hw = rank == 4 ? (int) (input.size(2) * input.size(3)) : 1;
        if (channels != layerConf().getNOut()) {
            throw new IllegalArgumentException("layer " + layerConf().getLayerName() + ": input has " + channels + " channels, expected "
                    + layerConf().getNOut());
        }
        float[] x = NdFloats.read(input, 'c');
        float[] y = new float[x.length];
        float[] gamma = gammaValues(channels);
        float[] beta = betaValues(channels);
        double eps = layerConf().getEps();
        if (training && layerConf().isFrozenStatistics()) {
            // running statistics, as in inference; kept for the (affine) backward pass
            float[] mean = NdFloats.read(getParam(FastBatchNormalization.MEAN), 'c');
            float[] var = NdFloats.read(getParam(FastBatchNormalization.VAR), 'c');
            float[] xHat = new float[x.length];
            float[] invStd = new float[channels];
            KernelThreads.shared().parallelFor(channels, c -> {
                float is = (float) (1.0 / Math.sqrt(var[c] + eps));
                invStd[c] = is;
                for (int b = 0; b < batch; b++) {
                    int o = (b * channels + c) * hw;
                    for (int i = o; i < o + hw; i++) {
                        float xh = (x[i] - mean[c]) * is;
                        xHat[i] = xh;
                        y[i] = gamma[c] * xh + beta[c];
                    }
                }
            });
            cache = new Cache(input, xHat, invStd, batch, channels, hw, true);
        } else if (training) {
            float[] xHat = new float[x.length];
            float[] invStd = new float[channels];
            float[] mean = new float[channels];
            float[] var = new float[channels];
            double n = (double) batch * hw;
            KernelThreads.shared().parallelFor(channels, c -> {
                double s = 0;
                for (int b = 0; b < batch; b++) {
                    int o = (b * channels + c) * hw;
                    for (int i = o; i < o + hw; i++) {
                        s += x[i];
                    }
                }
                double mu = s / n;
                double ss = 0;
                for (int b = 0; b < batch; b++) {
                    int o = (b * channels + c) * hw;
                    for (int i = o; i < o + hw; i++) {
                        double d = x[i] - mu;
                        ss += d * d;
                    }
                }
                double v = ss / n;
                float is = (float) (1.0 / Math.sqrt(v + eps));
                float m = (float) mu;
                float g = gamma[c];
                float bt = beta[c];
                for (int b = 0; b < batch; b++) {
                    int o = (b * channels + c) * hw;
                    for (int i = o; i < o + hw; i++) {
                        float xh = (x[i] - m) * is;
                        xHat[i] = xh;
                        y[i] = g * xh + bt;
                    }
                }
                invStd[c] = is;
                mean[c] = m;
                var[c] = (float) v;
            });
            updateRunningStats(mean, var);
            cache = new Cache(input, xHat, invStd, batch, channels, hw, false);
        } else {
            float[] mean = NdFloats.read(getParam(FastBatchNormalization.MEAN), 'c');
            float[] var = NdFloats.read(getParam(FastBatchNormalization.VAR), 'c');
            KernelThreads.shared().parallelFor(channels, c -> {
                float is = (float) (1.0 / Math.sqrt(var[c] + eps));
                float scale = gamma[c] * is;
                float shift = beta[c] - mean[c] * scale;
                for (int b = 0; b < batch; b++) {
                    int o = (b * channels + c) * hw;
                    for (int i = o; i < o + hw; i++) {
                        y[i] = x[i] * scale + shift;
                    }
                }
            });
            cache = null;
        }
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, input.shape(), 'c');
        NdFloats.write(y, out, 'c');
        return out;
    }

    private void updateRunningStats(float[] mean, float[] var) {
        if (!layerConf().isMinibatch()) {
            NdFloats.write(mean, getParam(FastBatchNormalization.MEAN), 'c');
            NdFloats.write(var, getParam(FastBatchNormalization.VAR), 'c');
            return;
        }
        float decay = (float) layerConf().getDecay();
        float[] gm = NdFloats.read(getParam(FastBatchNormalization.MEAN), 'c');
        float[] gv = NdFloats.read(getParam(FastBatchNormalization.VAR), 'c');
        for (int c = 0; c < gm.length; c++) {
            gm[c] = decay * gm[c] + (1 - decay) * mean[c];
            gv[c] = decay * gv[c] + (1 - decay) * var[c];
        }
        NdFloats.write(gm, getParam(FastBatchNormalization.MEAN), 'c');
        NdFloats.write(gv, getParam(FastBatchNormalization.VAR), 'c');
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(true);
        Cache f = cache;
        if (f == null || f.inputRef() != input) {
            // the statistics of the batch are needed; this also updates the running statistics once more
            activate(true, workspaceMgr);
            f = cache;
        }
        cache = null;
        int batch = f.batch();
        int channels = f.channels();
        int hw = f.hw();
        float[] dy = NdFloats.read(epsilon, 'c');
        float[] dx = new float[dy.length];
        float[] gamma = gammaValues(channels);
        float[] dGamma = new float[channels];
        float[] dBeta = new float[channels];
        float[] xHat = f.xHat();
        float[] invStd = f.invStd();
        boolean frozen = f.frozenStatistics();
        double n = (double) batch * hw;
        KernelThreads.shared().parallelFor(channels, c -> {
            double sdy = 0;
            double sdyx = 0;
            for (int b = 0; b < batch; b++) {
                int o = (b * channels + c) * hw;
                for (int i = o; i < o + hw; i++) {
                    sdy += dy[i];
                    sdyx += dy[i] * xHat[i];
                }
            }
            dBeta[c] = (float) sdy;
            dGamma[c] = (float) sdyx;
            // dx = gamma / std * (dy - mean(dy) - xHat * mean(dy * xHat)); with frozen statistics gamma / std * dy
            float k = gamma[c] * invStd[c];
            if (frozen) {
                for (int b = 0; b < batch; b++) {
                    int o = (b * channels + c) * hw;
                    for (int i = o; i < o + hw; i++) {
                        dx[i] = k * dy[i];
                    }
                }
                return;
            }
            float mdy = (float) (sdy / n);
            float mdyx = (float) (sdyx / n);
            for (int b = 0; b < batch; b++) {
                int o = (b * channels + c) * hw;
                for (int i = o; i < o + hw; i++) {
                    dx[i] = k * (dy[i] - mdy - xHat[i] * mdyx);
                }
            }
        });
        Gradient g = new DefaultGradient();
        if (frozen) {
            java.util.Arrays.fill(dGamma, 0f); // a frozen layer: scale and shift do not move either
            java.util.Arrays.fill(dBeta, 0f);
        }
        if (!layerConf().isLockGammaBeta()) {
            INDArray gg = gradientViews.get(FastBatchNormalization.GAMMA);
            INDArray gb = gradientViews.get(FastBatchNormalization.BETA);
            NdFloats.write(dGamma, gg, 'c');
            NdFloats.write(dBeta, gb, 'c');
            g.gradientForVariable().put(FastBatchNormalization.GAMMA, gg);
            g.gradientForVariable().put(FastBatchNormalization.BETA, gb);
        }
        INDArray gm = gradientViews.get(FastBatchNormalization.MEAN);
        INDArray gv = gradientViews.get(FastBatchNormalization.VAR);
        gm.assign(0);
        gv.assign(0);
        g.gradientForVariable().put(FastBatchNormalization.MEAN, gm);
        g.gradientForVariable().put(FastBatchNormalization.VAR, gv);
        INDArray eps = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, epsilon.shape(), 'c');
        NdFloats.write(dx, eps, 'c');
        eps = backpropDropOutIfPresent(eps);
        return new Pair<>(g, eps);
    }

    @Override
    public void clear() {
        super.clear();
        cache = null;
    }

    @Override
    public void clearNoiseWeightParams() {
        // no weight noise
    }
}
