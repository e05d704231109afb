package io.sparsetrain.nn.layers;

import io.sparsetrain.kernels.NmFormat;
import io.sparsetrain.prune.nm.NmGroupOrder;
import java.util.Collection;
import java.util.List;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.LayerValidation;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.regularization.Regularization;

/**
 * A 2-D convolution (NCHW) whose weights carry a 0/1 mask, computed by the sparsetrain kernel
 * engine instead of DL4J's im2col convolution. Configured like DL4J's {@link ConvolutionLayer}
 * (kernel, stride, padding, dilation, Truncate/Strict/Same mode) and serialized in DL4J's JSON with
 * the extra fields {@code frozen}, {@code nmN}, {@code nmM}. Parameters: "b" [1, nOut], "W"
 * [nOut, nIn, kh, kw] and the mask "M" (same shape as W; never updated, never regularized).
 */
public class SparseConvolution extends ConvolutionLayer implements SparseLayerConfig {

    private static final String WEIGHT_PARAM = "W";

    private boolean frozen;
    /** N and M of a frozen N:M mask, 0 when the layer computes densely. */
    private int nmN;
    private int nmM;
    private NmGroupOrder nmGroupOrder;
    /** Mask-learning settings; null for a fixed mask. */
    private MaskLearning maskLearning;

    /** For JSON deserialization. */
    public SparseConvolution() {
    }

    protected SparseConvolution(Builder builder) {
        super(builder);
    }

    @Override
    public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners,
                                                         int layerIndex, INDArray layerParamsView, boolean initializeParams,
                                                         DataType networkDataType) {
        LayerValidation.assertNInNOutSet("SparseConvolution", getLayerName(), layerIndex, getNIn(), getNOut());
        if (cnn2dDataFormat != null && cnn2dDataFormat != CNN2DFormat.NCHW) {
            throw new IllegalArgumentException("layer " + getLayerName() + ": SparseConvolution supports NCHW only, got " + cnn2dDataFormat);
        }
        SparseParams.checkInstantiable(this, getLayerName(), getWeightNoise());
        return LayerWiring.wire(new SparseConvolutionLayer(conf, networkDataType), conf, listeners, layerIndex, layerParamsView,
                initializeParams);
    }

    @Override
    public ParamInitializer initializer() {
        return SparseConvolutionParamInitializer.INSTANCE;
    }

    @Override
    public IUpdater getUpdaterByParam(String paramName) {
        return SparseParams.updaterByParam(this, paramName, super::getUpdaterByParam);
    }

    @Override
    public List<Regularization> getRegularizationByParam(String paramName) {
        return SparseParams.regularizationByParam(this, paramName, super::getRegularizationByParam);
    }

    @Override
    public MaskLearning getMaskLearning() {
        return maskLearning;
    }

    @Override
    public void setMaskLearning(MaskLearning maskLearning) {
        this.maskLearning = SparseParams.normalized(maskLearning);
    }

    @Override
    public boolean isPretrainParam(String paramName) {
        return false;
    }

    @Override
    public boolean isFrozen() {
        return frozen;
    }

    // bean accessors: DL4J's JSON mapper serializes through them

    public void setFrozen(boolean frozen) {
        this.frozen = frozen;
    }

    /** N of a frozen N:M mask, 0 when none. */
    public int getNmN() {
        return nmN;
    }

    public void setNmN(int nmN) {
        this.nmN = nmN;
    }

    /** M of a frozen N:M mask, 0 when none. */
    public int getNmM() {
        return nmM;
    }

    public void setNmM(int nmM) {
        this.nmM = nmM;
    }

    /** Group order of a frozen N:M mask; null (the JSON default) means {@link NmGroupOrder#KERNEL}. */
    public NmGroupOrder getNmGroupOrder() {
        return nmGroupOrder;
    }

    public void setNmGroupOrder(NmGroupOrder order) {
        this.nmGroupOrder = order == NmGroupOrder.KERNEL ? null : order;
    }

    @Override
    public NmGroupOrder frozenGroupOrder() {
        return nmGroupOrder == null || frozenFormat() == null ? NmGroupOrder.KERNEL : nmGroupOrder;
    }

    @Override
    public void setFrozen(boolean frozen, NmFormat nm, NmGroupOrder order) {
        setFrozen(frozen, nm);
        setNmGroupOrder(frozen && nm != null ? order : null);
    }

    @Override
    public NmFormat frozenFormat() {
        return frozen && nmM > 0 ? NmFormat.of(nmN, nmM) : null;
    }

    @Override
    public void setFrozen(boolean frozen, NmFormat nm) {
        this.frozen = frozen;
        this.nmN = frozen && nm != null ? nm.n() : 0;
        this.nmM = frozen && nm != null ? nm.m() : 0;
        this.nmGroupOrder = null;
    }

    @Override
    public SparseConvolution clone() {
        return (SparseConvolution) super.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SparseConvolution s && super.equals(o) && s.frozen == frozen && s.nmN == nmN && s.nmM == nmM
                && s.nmGroupOrder == nmGroupOrder
                && java.util.Objects.equals(s.maskLearning, maskLearning);
    }

    @Override
    public int hashCode() {
        return (super.hashCode() * 31 + (frozen ? 1 : 0)) * 961 + nmN * 31 + nmM + 7 * java.util.Objects.hashCode(maskLearning);
    }

    @Override
    public String toString() {
        return "SparseConvolution(" + super.toString() + ", frozen=" + frozen + ", nm=" + (nmM > 0 ? nmN + ":" + nmM : "none")
                + (maskLearning != null ? ", " + maskLearning : "") + ")";
    }

    /** Builder: {@code new SparseConvolution.Builder(3, 3).nIn(16).nOut(32).stride(2, 2).padding(1, 1).build()}. */
    public static class Builder extends BaseConvBuilder<Builder> {

        public Builder(int... kernelSize) {
            super(kernelSize);
        }

        public Builder() {
            super();
        }

        @Override
        protected boolean allowCausal() {
            return false;
        }

        @Override
        @SuppressWarnings("unchecked")
        public SparseConvolution build() {
            return new SparseConvolution(this);
        }
    }
}
