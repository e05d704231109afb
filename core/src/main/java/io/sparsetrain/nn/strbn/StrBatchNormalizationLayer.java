package io.sparsetrain.nn.strbn;

import io.sparsetrain.learn.strbn.StrBnThreshold;
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
import org.nd4j.linalg.factory.Nd4j;

/**
 * The layer instance of {@link StrBatchNormalization}. Computes in double precision over plain arrays
 * (batch norm is a few passes over the data next to the convolutions, and double keeps finite-difference
 * gradient checks meaningful); works for FLOAT and DOUBLE networks.
 */
public class StrBatchNormalizationLayer extends BaseLayer<StrBatchNormalization> {

    private transient Cache cache;

    public StrBatchNormalizationLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    /** x_hat [B, C, HW] and 1/std per channel of the last training forward pass. */
    private record Cache(INDArray inputRef, double[] xHat, double[] invStd, int batch, int channels, int hw) {
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
        return !(StrBatchNormalization.MEAN.equals(paramName) || StrBatchNormalization.VAR.equals(paramName));
    }

    static double[] read(INDArray a) {
        INDArray d = a.dataType() == DataType.DOUBLE ? a.dup('c') : a.castTo(DataType.DOUBLE).dup('c');
        return d.data().asDouble();
    }

    static void write(double[] v, INDArray dst) {
        dst.assign(Nd4j.create(v, dst.shape(), 'c').castTo(dst.dataType()));
    }

    private double s() {
        return getParam(StrBatchNormalization.THRESHOLD).getDouble(0);
    }

    /** gamma_eff per channel for the current gamma and s. */
    public double[] effectiveGamma() {
        return layerConf().threshold().effectiveGamma(read(getParam(StrBatchNormalization.GAMMA)), s());
    }

    /** Channels with gamma_eff = 0 for the current gamma and s. */
    public boolean[] deadChannels() {
        return layerConf().threshold().deadChannels(read(getParam(StrBatchNormalization.GAMMA)), s());
    }

    /** The current threshold g(s). */
    public double thresholdValue() {
        return layerConf().threshold().threshold(s());
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(false);
        applyDropOutIfNecessary(training, workspaceMgr);
        String name = layerConf().getLayerName();
        int rank = input.rank();
        if (rank != 2 && rank != 4) {
            throw new IllegalArgumentException("layer " + name + ": STR-BN needs rank 2 or 4 (NCHW) input, got "
                    + Arrays.toString(input.shape()));
        }
        int batch = (int) input.size(0);
        int channels = (int) input.size(1);
        int hw = rank == 4 ? (int) (input.size(2) * input.size(3)) : 1;
        if (channels != layerConf().getNOut()) {
            throw new IllegalArgumentException("layer " + name + ": input has " + channels + " channels, expected " + layerConf().getNOut());
        }
        double[] x = read(input);
        double[] y = new double[x.length];
        double[] ge = effectiveGamma();
        double[] bh = read(getParam(StrBatchNormalization.BETA));
        double eps = layerConf().getEps();
        if (training) {
            double[] xHat = new double[x.length];
            double[] invStd = new double[channels];
            double[] mean = new double[channels];
            double[] var = new double[channels];
            double n = (double) batch * hw;
            for (int c = 0; c < channels; c++) {
                double sum = 0;
                for (int b = 0; b < batch; b++) {
                    int o = (b * channels + c) * hw;
                    for (int i = o; i < o + hw; i++) {
                        sum += x[i];
                    }
                }
                double mu = sum / n;
                double ss = 0;
                for (int b = 0; b < batch; b++) {
                    int o = (b * channels + c) * hw;
                    for (int i = o; i < o + hw; i++) {
                        double d = x[i] - mu;
                        ss += d * d;
                    }
                }
                double v = ss / n;
                double is = 1.0 / Math.sqrt(v + eps);
                for (int b = 0; b < batch; b++) {
                    int o = (b * channels + c) * hw;
                    for (int i = o; i < o + hw; i++) {
                        double xh = (x[i] - mu) * is;
                        xHat[i] = xh;
                        y[i] = ge[c] * (xh + bh[c]);
                    }
                }
                invStd[c] = is;
                mean[c] = mu;
                var[c] = v;
            }
            updateRunningStats(mean, var);
            cache = new Cache(input, xHat, invStd, batch, channels, hw);
        } else {
            double[] mean = read(getParam(StrBatchNormalization.MEAN));
            double[] var = read(getParam(StrBatchNormalization.VAR));
            for (int c = 0; c < channels; c++) {
                double is = 1.0 / Math.sqrt(var[c] + eps);
                for (int b = 0; b < batch; b++) {
                    int o = (b * channels + c) * hw;
                    for (int i = o; i < o + hw; i++) {
                        y[i] = ge[c] * ((x[i] - mean[c]) * is + bh[c]);
                    }
                }
            }
            cache = null;
        }
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, input.shape(), 'c');
        write(y, out);
        return out;
    }

    private void updateRunningStats(double[] mean, double[] var) {
        INDArray pm = getParam(StrBatchNormalization.MEAN);
        INDArray pv = getParam(StrBatchNormalization.VAR);
        if (!layerConf().isMinibatch()) {
            write(mean, pm);
            write(var, pv);
            return;
        }
        double decay = layerConf().getDecay();
        double[] gm = read(pm);
        double[] gv = read(pv);
        for (int c = 0; c < gm.length; c++) {
            gm[c] = decay * gm[c] + (1 - decay) * mean[c];
            gv[c] = decay * gv[c] + (1 - decay) * var[c];
        }
        write(gm, pm);
        write(gv, pv);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(true);
        Cache f = cache;
        if (f == null || f.inputRef() != input) {
            // the batch statistics are needed; this also updates the running statistics once more
            activate(true, workspaceMgr);
            f = cache;
        }
        cache = null;
        int batch = f.batch();
        int channels = f.channels();
        int hw = f.hw();
        double[] dy = read(epsilon);
        double[] dx = new double[dy.length];
        StrBnThreshold threshold = layerConf().threshold();
        double[] gamma = read(getParam(StrBatchNormalization.GAMMA));
        double s = s();
        double[] ge = threshold.effectiveGamma(gamma, s);
        double[] bh = read(getParam(StrBatchNormalization.BETA));
        double[] dGe = new double[channels];
        double[] dBeta = new double[channels];
        double[] xHat = f.xHat();
        double[] invStd = f.invStd();
        double n = (double) batch * hw;
        for (int c = 0; c < channels; c++) {
            double sdy = 0;
            double sdyx = 0;
            for (int b = 0; b < batch; b++) {
                int o = (b * channels + c) * hw;
                for (int i = o; i < o + hw; i++) {
                    sdy += dy[i];
                    sdyx += dy[i] * xHat[i];
                }
            }
            // y = ge * (xHat + bh): dL/dbh = ge * sum(dy), dL/dge = sum(dy * (xHat + bh))
            dBeta[c] = ge[c] * sdy;
            dGe[c] = sdyx + bh[c] * sdy;
            // dx = ge / std * (dy - mean(dy) - xHat * mean(dy * xHat)); the bh term is constant in x
            double k = ge[c] * invStd[c];
            double mdy = sdy / n;
            double mdyx = sdyx / n;
            for (int b = 0; b < batch; b++) {
                int o = (b * channels + c) * hw;
                for (int i = o; i < o + hw; i++) {
                    dx[i] = k * (dy[i] - mdy - xHat[i] * mdyx);
                }
            }
        }
        double[] dGamma = new double[channels];
        double dS = threshold.backward(gamma, s, dGe, dGamma);
        Gradient g = new DefaultGradient();
        put(g, StrBatchNormalization.GAMMA, dGamma);
        put(g, StrBatchNormalization.BETA, dBeta);
        put(g, StrBatchNormalization.THRESHOLD, new double[] {dS});
        put(g, StrBatchNormalization.MEAN, new double[channels]);
        put(g, StrBatchNormalization.VAR, new double[channels]);
        INDArray eps = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, epsilon.shape(), 'c');
        write(dx, eps);
        eps = backpropDropOutIfPresent(eps);
        return new Pair<>(g, eps);
    }

    private void put(Gradient g, String key, double[] values) {
        INDArray view = gradientViews.get(key);
        write(values, view);
        g.gradientForVariable().put(key, view);
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
