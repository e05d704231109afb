package io.sparsetrain.nn.layers;

import io.sparsetrain.kernels.NmFormat;
import java.util.Collection;
import java.util.List;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.LayerValidation;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.regularization.Regularization;

/**
 * A fully connected layer whose weights carry a 0/1 mask, computed by the sparsetrain kernel engine
 * ({@code DenseLayerKernels}). Parameters as DL4J's DenseLayer, "W" [nIn, nOut] in 'f' order
 * (so the flat data is [out, in] row-major, the N:M groups running along "in") and "b" [1, nOut],
 * plus the mask "M" shaped like W (never updated, never regularized).
 */
public class SparseDense extends FeedForwardLayer implements SparseLayerConfig {

    private boolean hasBias = true;
    private static final String WEIGHT_PARAM = "W";

    private boolean frozen;
    private int nmN;
    private int nmM;
    /** Mask-learning settings; null for a fixed mask. */
    private MaskLearning maskLearning;

    /** For JSON deserialization. */
    public SparseDense() {
    }

    protected SparseDense(Builder builder) {
        super(builder);
        this.hasBias = builder.hasBias;
        initializeConstraints(builder);
    }

    public boolean hasBias() {
        return hasBias;
    }

    public boolean isHasBias() {
        return hasBias;
    }

    public void setHasBias(boolean hasBias) {
        this.hasBias = hasBias;
    }

    @Override
    public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners,
                                                         int layerIndex, INDArray layerParamsView, boolean initializeParams,
                                                         DataType networkDataType) {
        LayerValidation.assertNInNOutSet("SparseDense", getLayerName(), layerIndex, getNIn(), getNOut());
        SparseParams.checkInstantiable(this, getLayerName(), getWeightNoise());
        return LayerWiring.wire(new SparseDenseLayer(conf, networkDataType), conf, listeners, layerIndex, layerParamsView,
                initializeParams);
    }

    @Override
    public ParamInitializer initializer() {
        return SparseDenseParamInitializer.INSTANCE;
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
    public LayerMemoryReport getMemoryReport(InputType inputType) {
        InputType outputType = getOutputType(-1, inputType);
        long numParams = initializer().numParams(this);
        int updaterStateSize = (int) getIUpdater().stateSize(numParams);
        return new LayerMemoryReport.Builder(layerName, SparseDense.class, inputType, outputType)
                .standardMemory(numParams, updaterStateSize)
                .workingMemory(0, 0, 0, outputType.arrayElementsPerExample())
                .cacheMemory(MemoryReport.CACHE_MODE_ALL_ZEROS, MemoryReport.CACHE_MODE_ALL_ZEROS)
                .build();
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

    @Override
    public NmFormat frozenFormat() {
        return frozen && nmM > 0 ? NmFormat.of(nmN, nmM) : null;
    }

    @Override
    public void setFrozen(boolean frozen, NmFormat nm) {
        this.frozen = frozen;
        this.nmN = frozen && nm != null ? nm.n() : 0;
        this.nmM = frozen && nm != null ? nm.m() : 0;
    }

    @Override
    public SparseDense clone() {
        return (SparseDense) super.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SparseDense s && super.equals(o) && s.hasBias == hasBias && s.frozen == frozen && s.nmN == nmN && s.nmM == nmM
                && java.util.Objects.equals(s.maskLearning, maskLearning);
    }

    @Override
    public int hashCode() {
        return ((super.hashCode() * 31 + (hasBias ? 1 : 0)) * 31 + (frozen ? 1 : 0)) * 961 + nmN * 31 + nmM + 7 * java.util.Objects.hashCode(maskLearning);
    }

    @Override
    public String toString() {
        return "SparseDense(" + super.toString() + ", hasBias=" + hasBias + ", frozen=" + frozen + ", nm="
                + (nmM > 0 ? nmN + ":" + nmM : "none")
                + (maskLearning != null ? ", " + maskLearning : "") + ")";
    }

    /** Builder: {@code new SparseDense.Builder().nIn(256).nOut(10).activation(Activation.RELU).build()}. */
    public static class Builder extends FeedForwardLayer.Builder<Builder> {
        private boolean hasBias = true;

        public Builder hasBias(boolean hasBias) {
            this.hasBias = hasBias;
            return this;
        }

        @Override
        @SuppressWarnings("unchecked")
        public SparseDense build() {
            return new SparseDense(this);
        }
    }
}
