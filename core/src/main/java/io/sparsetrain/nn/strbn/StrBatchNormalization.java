package io.sparsetrain.nn.strbn;

import io.sparsetrain.learn.strbn.StrBnThreshold;
import io.sparsetrain.nn.layers.LayerWiring;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.regularization.L2Regularization;
import org.nd4j.linalg.learning.regularization.Regularization;

/**
 * STR-BN batch normalization (METHODS.md section 4; Kusupati 2020, "Adapting Unstructured Sparsity
 * Techniques for Structured Sparsity", section 2): per channel c, over NCHW activations (batch and
 * locations) or [batch, features],
 * <pre>
 *   Y = gamma_eff * (X_hat + beta_hat),   gamma_eff = sign(gamma) * relu(|gamma| - g(s))
 * </pre>
 * with X_hat = (X - mean) / sqrt(var + eps), one learnable scalar threshold s per layer and g = sigmoid
 * (or exp) as in {@link StrBnThreshold}. A channel with |gamma| &lt;= g(s) outputs exactly 0, so the
 * filter producing it can be removed ({@link StrBnRemoval}).
 *
 * <p>Parameters: "gamma", "beta" (beta_hat) [1, C], "s" [1, 1], and the running statistics "mean",
 * "var" [1, C] (the variance without eps, updated in the training forward pass as
 * {@code stat = decay * stat + (1 - decay) * batchStat}, never touched by the updater), in that order
 * in the flat parameter vector. Like DL4J's batch norm the layer applies no activation. L2 weight decay
 * on s ({@link #getThresholdL2()}, DL4J's {@link L2Regularization}, added to the gradient before the
 * updater as PyTorch's SGD weight_decay does) is STR's sparsity pressure: it pulls s from a negative
 * start towards 0, raising g(s). gamma takes the layer's weight regularization ({@code regularization}),
 * beta_hat its bias regularization ({@code regularizationBias}).
 * Serialised in DL4J's JSON with the extra fields {@code thresholdFunction}, {@code initialS},
 * {@code thresholdL2}.
 */
public class StrBatchNormalization extends BatchNormalization {

    public static final String GAMMA = "gamma";
    public static final String BETA = "beta";
    public static final String THRESHOLD = "s";
    public static final String MEAN = "mean";
    public static final String VAR = "var";

    private StrBnThreshold.ThresholdFunction thresholdFunction = StrBnThreshold.DEFAULT_FUNCTION;
    private double initialS = StrBnThreshold.DEFAULT_INITIAL_S;
    private double thresholdL2;

    /** For JSON deserialization and {@link Builder}. */
    public StrBatchNormalization() {
        setActivationFn(new org.nd4j.linalg.activations.impl.ActivationIdentity());
    }

    private StrBatchNormalization(Builder b) {
        this();
        setDecay(b.decay);
        setEps(b.eps);
        setGamma(b.gamma);
        setBeta(b.beta);
        this.thresholdFunction = b.function;
        this.initialS = b.initialS;
        this.thresholdL2 = b.thresholdL2;
        if (b.nOut > 0) {
            setNIn(b.nOut);
            setNOut(b.nOut);
        }
    }

    /** The threshold rule of this layer (function g; its initial s is {@link #getInitialS()}). */
    public StrBnThreshold threshold() {
        return StrBnThreshold.of(thresholdFunction, initialS);
    }

    public StrBnThreshold.ThresholdFunction getThresholdFunction() {
        return thresholdFunction;
    }

    public void setThresholdFunction(StrBnThreshold.ThresholdFunction f) {
        this.thresholdFunction = Objects.requireNonNull(f, "thresholdFunction");
    }

    /** The value s is initialised to by {@code init()} of a new network. */
    public double getInitialS() {
        return initialS;
    }

    public void setInitialS(double initialS) {
        this.initialS = initialS;
    }

    /** L2 coefficient on s (0 = none). */
    public double getThresholdL2() {
        return thresholdL2;
    }

    public void setThresholdL2(double thresholdL2) {
        if (!(thresholdL2 >= 0)) {
            throw new IllegalArgumentException("thresholdL2 must be >= 0, got thresholdL2=" + thresholdL2);
        }
        this.thresholdL2 = thresholdL2;
    }

    /** Always false: the running variance is stored as is. */
    @Override
    public boolean isUseLogStd() {
        return false;
    }

    @Override
    public void setUseLogStd(boolean useLogStd) {
        // ignored, see isUseLogStd()
    }

    /** Always false: STR-BN learns gamma. */
    @Override
    public boolean isLockGammaBeta() {
        return false;
    }

    @Override
    public void setLockGammaBeta(boolean lockGammaBeta) {
        if (lockGammaBeta) {
            throw new IllegalArgumentException("layer " + getLayerName() + ": StrBatchNormalization cannot lock gamma and beta");
        }
    }

    @Override
    public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners,
                                                         int layerIndex, INDArray layerParamsView, boolean initializeParams,
                                                         DataType networkDataType) {
        if (getCnn2DFormat() != null && getCnn2DFormat() != CNN2DFormat.NCHW) {
            throw new IllegalArgumentException("layer " + getLayerName() + ": StrBatchNormalization supports NCHW only, got "
                    + getCnn2DFormat());
        }
        return LayerWiring.wire(new StrBatchNormalizationLayer(conf, networkDataType), conf, listeners, layerIndex, layerParamsView,
                initializeParams);
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
        switch (paramName) {
            case GAMMA:
                return getRegularization() == null ? Collections.emptyList() : getRegularization();
            case BETA:
                return getRegularizationBias() == null ? Collections.emptyList() : getRegularizationBias();
            case THRESHOLD:
                return thresholdL2 > 0 ? List.of(new L2Regularization(thresholdL2)) : Collections.emptyList();
            default:
                return Collections.emptyList();
        }
    }

    @Override
    public boolean isPretrainParam(String paramName) {
        return false;
    }

    @Override
    public StrBatchNormalization clone() {
        return (StrBatchNormalization) super.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StrBatchNormalization s && super.equals(o) && s.thresholdFunction == thresholdFunction
                && Double.compare(s.initialS, initialS) == 0 && Double.compare(s.thresholdL2, thresholdL2) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), thresholdFunction, initialS, thresholdL2);
    }

    @Override
    public String toString() {
        return "StrBatchNormalization(" + super.toString() + ", thresholdFunction=" + thresholdFunction + ", initialS=" + initialS
                + ", thresholdL2=" + thresholdL2 + ")";
    }

    /** Builder with DL4J's batch norm defaults (decay 0.9, eps 1e-5) and {@link StrBnThreshold#defaults()}. */
    public static final class Builder {
        private double decay = 0.9;
        private double eps = 1e-5;
        private double gamma = 1.0;
        private double beta = 0.0;
        private long nOut;
        private StrBnThreshold.ThresholdFunction function = StrBnThreshold.DEFAULT_FUNCTION;
        private double initialS = StrBnThreshold.DEFAULT_INITIAL_S;
        private double thresholdL2;

        public Builder decay(double v) { decay = v; return this; }
        public Builder eps(double v) { eps = v; return this; }
        /** Initial gamma of a new network. */
        public Builder gamma(double v) { gamma = v; return this; }
        /** Initial beta_hat of a new network. */
        public Builder beta(double v) { beta = v; return this; }
        public Builder nOut(long v) { nOut = v; return this; }
        public Builder thresholdFunction(StrBnThreshold.ThresholdFunction v) { function = v; return this; }
        public Builder initialS(double v) { initialS = v; return this; }
        public Builder thresholdL2(double v) { thresholdL2 = v; return this; }

        public StrBatchNormalization build() {
            if (!(decay >= 0 && decay <= 1)) {
                throw new IllegalArgumentException("decay must be in [0, 1], got decay=" + decay);
            }
            if (!(eps > 0)) {
                throw new IllegalArgumentException("eps must be > 0, got eps=" + eps);
            }
            Objects.requireNonNull(function, "thresholdFunction");
            if (!Double.isFinite(initialS)) {
                throw new IllegalArgumentException("initialS must be finite, got initialS=" + initialS);
            }
            if (!(thresholdL2 >= 0)) {
                throw new IllegalArgumentException("thresholdL2 must be >= 0, got thresholdL2=" + thresholdL2);
            }
            return new StrBatchNormalization(this);
        }
    }

    /** Parameters gamma, beta [1, C], s [1, 1], mean, var [1, C]. */
    static final class Params implements ParamInitializer {
        static final Params INSTANCE = new Params();
        private static final List<String> KEYS = List.of(GAMMA, BETA, THRESHOLD, MEAN, VAR);

        private static StrBatchNormalization conf(Layer l) {
            return (StrBatchNormalization) l;
        }

        @Override
        public long numParams(NeuralNetConfiguration conf) {
            return numParams(conf.getLayer());
        }

        @Override
        public long numParams(Layer layer) {
            return 4 * conf(layer).getNOut() + 1;
        }

        @Override
        public List<String> paramKeys(Layer layer) {
            return KEYS;
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
            StrBatchNormalization c = conf(conf.getLayer());
            Map<String, INDArray> p = split(c, view);
            if (initialize) {
                p.get(GAMMA).assign(c.getGamma());
                p.get(BETA).assign(c.getBeta());
                p.get(THRESHOLD).assign(c.getInitialS());
                p.get(MEAN).assign(0);
                p.get(VAR).assign(1);
            }
            return p;
        }

        @Override
        public Map<String, INDArray> getGradientsFromFlattened(NeuralNetConfiguration conf, INDArray view) {
            return split(conf(conf.getLayer()), view);
        }

        private static Map<String, INDArray> split(StrBatchNormalization c, INDArray view) {
            INDArray flat = view.reshape(view.length());
            long n = c.getNOut();
            Map<String, INDArray> out = new LinkedHashMap<>();
            long pos = 0;
            for (String key : KEYS) {
                long len = THRESHOLD.equals(key) ? 1 : n;
                out.put(key, flat.get(NDArrayIndex.interval(pos, pos + len)).reshape(1, len));
                pos += len;
            }
            return out;
        }
    }
}
