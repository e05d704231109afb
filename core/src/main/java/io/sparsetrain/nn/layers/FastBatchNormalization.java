package io.sparsetrain.nn.layers;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.regularization.Regularization;

/**
 * Batch normalization (Ioffe and Szegedy 2015) over NCHW activations (per channel, over batch and
 * locations) or [batch, features], computed in plain Java loops over float arrays, one channel per
 * task on the kernel threads. Configured like DL4J's {@link BatchNormalization} (decay, eps,
 * lockGammaBeta), of which it is a subclass, but with its own parameters: "gamma", "beta" and the
 * running statistics "mean" and "var" (the variance without eps; inference uses sqrt(var + eps)),
 * updated in the training forward pass as {@code stat = decay * stat + (1 - decay) * batchStat} and
 * never touched by the updater. DL4J's own layer spent about half of a ResNet-20 training step
 * with our convolutions in ND4J broadcast ops; this one is a few passes over the data.
 */
public class FastBatchNormalization extends BatchNormalization {

    public static final String GAMMA = "gamma";
    public static final String BETA = "beta";
    public static final String MEAN = "mean";
    public static final String VAR = "var";

    /**
     * When true, training forward passes normalise with the running statistics too (as inference does) and never
     * update them; the backward pass is then the per-channel affine map's, with zero gradients for gamma and beta
     * (the whole layer is frozen). Set while masks are learned on a
     * trained network, so that the mask is fitted to the normalisation the deployed model uses.
     */
    private boolean frozenStatistics;

    /** For JSON deserialization and {@link Builder}. */
    public FastBatchNormalization() {
        setActivationFn(new org.nd4j.linalg.activations.impl.ActivationIdentity());
    }

    /** Always false: this layer stores the running variance itself, never DL4J's log10 std. */
    @Override
    public boolean isUseLogStd() {
        return false;
    }

    @Override
    public void setUseLogStd(boolean useLogStd) {
        // ignored, see isUseLogStd()
    }

    private FastBatchNormalization(Builder b) {
        this();
        setDecay(b.decay);
        setEps(b.eps);
        setLockGammaBeta(b.lockGammaBeta);
        setGamma(b.gamma);
        setBeta(b.beta);
        if (b.nOut > 0) {
            setNIn(b.nOut);
            setNOut(b.nOut);
        }
    }

    @Override
    public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners,
                                                         int layerIndex, INDArray layerParamsView, boolean initializeParams,
                                                         DataType networkDataType) {
        if (getCnn2DFormat() != null && getCnn2DFormat() != org.deeplearning4j.nn.conf.CNN2DFormat.NCHW) {
            throw new IllegalArgumentException("layer " + getLayerName() + ": FastBatchNormalization supports NCHW only, got " + getCnn2DFormat());
        }
        return LayerWiring.wire(new FastBatchNormalizationLayer(conf, networkDataType), conf, listeners, layerIndex, layerParamsView,
                initializeParams);
    }

    /** See the field: running statistics used and kept unchanged in training passes. */
    public boolean isFrozenStatistics() {
        return frozenStatistics;
    }

    public void setFrozenStatistics(boolean frozenStatistics) {
        this.frozenStatistics = frozenStatistics;
    }

    @Override
    public ParamInitializer initializer() {
        return Params.INSTANCE;
    }

    @Override
    public IUpdater getUpdaterByParam(String paramName) {
        return MEAN.equals(paramName) || VAR.equals(paramName) ? new NoOp() : getIUpdater();
    }

    @Override
    public List<Regularization> getRegularizationByParam(String paramName) {
        return Collections.emptyList();
    }

    @Override
    public boolean isPretrainParam(String paramName) {
        return false;
    }

    @Override
    public FastBatchNormalization clone() {
        return (FastBatchNormalization) super.clone();
    }

    /** Builder with DL4J's defaults: decay 0.9, eps 1e-5, learned gamma and beta. */
    public static final class Builder {
        private double decay = 0.9;
        private double eps = 1e-5;
        private boolean lockGammaBeta;
        private double gamma = 1.0;
        private double beta = 0.0;
        private long nOut;

        public Builder decay(double v) { decay = v; return this; }
        public Builder eps(double v) { eps = v; return this; }
        public Builder lockGammaBeta(boolean v) { lockGammaBeta = v; return this; }
        public Builder gamma(double v) { gamma = v; return this; }
        public Builder beta(double v) { beta = v; return this; }
        public Builder nOut(long v) { nOut = v; return this; }

        public FastBatchNormalization build() {
            if (!(decay >= 0 && decay <= 1)) {
                throw new IllegalArgumentException("decay must be in [0, 1], got decay=" + decay);
            }
            if (!(eps > 0)) {
                throw new IllegalArgumentException("eps must be > 0, got eps=" + eps);
            }
            return new FastBatchNormalization(this);
        }
    }

    /** Parameters: gamma and beta [1, C] unless locked, then mean and var [1, C]. */
    static final class Params implements ParamInitializer {
        static final Params INSTANCE = new Params();

        private static FastBatchNormalization conf(Layer l) {
            return (FastBatchNormalization) l;
        }

        @Override
        public long numParams(NeuralNetConfiguration conf) {
            return numParams(conf.getLayer());
        }

        @Override
        public long numParams(Layer layer) {
            FastBatchNormalization c = conf(layer);
            return (c.isLockGammaBeta() ? 2 : 4) * c.getNOut();
        }

        @Override
        public List<String> paramKeys(Layer layer) {
            List<String> keys = new ArrayList<>();
            if (!conf(layer).isLockGammaBeta()) {
                keys.add(GAMMA);
                keys.add(BETA);
            }
            keys.add(MEAN);
            keys.add(VAR);
            return keys;
        }

        @Override
        public List<String> weightKeys(Layer layer) {
            return Collections.emptyList();
        }

        @Override
        public List<String> biasKeys(Layer layer) {
            return Collections.emptyList();
        }

        @Override
        public boolean isWeightParam(Layer layer, String key) {
            return false;
        }

        @Override
        public boolean isBiasParam(Layer layer, String key) {
            return false;
        }

        @Override
        public Map<String, INDArray> init(NeuralNetConfiguration conf, INDArray view, boolean initialize) {
            FastBatchNormalization c = conf(conf.getLayer());
            Map<String, INDArray> p = split(c, view);
            if (initialize) {
                if (!c.isLockGammaBeta()) {
                    p.get(GAMMA).assign(c.getGamma());
                    p.get(BETA).assign(c.getBeta());
                }
                p.get(MEAN).assign(0);
                p.get(VAR).assign(1);
            }
            return p;
        }

        @Override
        public Map<String, INDArray> getGradientsFromFlattened(NeuralNetConfiguration conf, INDArray view) {
            return split(conf(conf.getLayer()), view);
        }

        private static Map<String, INDArray> split(FastBatchNormalization c, INDArray view) {
            INDArray flat = view.reshape(view.length());
            long n = c.getNOut();
            Map<String, INDArray> out = new LinkedHashMap<>();
            long pos = 0;
            for (String key : INSTANCE.paramKeys(c)) {
                out.put(key, flat.get(NDArrayIndex.interval(pos, pos + n)).reshape(1, n));
                pos += n;
            }
            return out;
        }
    }
}
