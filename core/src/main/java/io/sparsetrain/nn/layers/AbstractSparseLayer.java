package io.sparsetrain.nn.layers;

import io.sparsetrain.kernels.NmFormat;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.layers.BaseLayer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What the sparse convolution and dense layer instances share: the mask parameter, the masked-weight
 * cache, freezing, and the {@link SparseLayer} view. Subclasses supply the compute and say in which
 * order their weight parameter is laid out.
 *
 * @param <C> the layer configuration
 */
abstract class AbstractSparseLayer<C extends org.deeplearning4j.nn.conf.layers.BaseLayer & SparseLayerConfig>
        extends BaseLayer<C> implements SparseLayer {

    /** The weight parameter's key (both initializers use DL4J's "W"). */
    static final String WEIGHT_KEY = "W";

    private transient MaskedWeights maskedWeights;
    /** How many backward passes had to recompute their forward pass; subclasses count. */
    protected transient int recomputedForwards;

    AbstractSparseLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    /** 'c' or 'f': the element order of the weight and mask parameters. */
    protected abstract char paramOrder();

    /** A new masked-weight cache for this layer's [rows, K] view. */
    protected abstract MaskedWeights newMaskedWeights();

    /** Drops what a training forward pass kept for the backward pass. */
    protected abstract void dropForwardCache();

    protected final MaskedWeights mw() {
        if (maskedWeights == null) {
            maskedWeights = newMaskedWeights();
        }
        return maskedWeights;
    }

    protected final INDArray weightParam() {
        return getParam(WEIGHT_KEY);
    }

    protected final INDArray maskParam() {
        return getParam(SparseLayerConfig.MASK_KEY);
    }

    @Override
    public boolean hasBias() {
        return layerConf().hasBias();
    }

    @Override
    public boolean isPretrainLayer() {
        return false;
    }

    /** How many backward passes had to recompute their forward pass (the cache missed); for tests. */
    public int recomputedForwards() {
        return recomputedForwards;
    }

    @Override
    public void clear() {
        super.clear();
        dropForwardCache();
    }

    @Override
    public void clearNoiseWeightParams() {
        // no weight noise (rejected at instantiation)
    }

    // ------------------------------------------------------------ SparseLayer

    @Override
    public String layerName() {
        String n = layerConf().getLayerName();
        return n != null ? n : String.valueOf(getIndex());
    }

    @Override
    public float[] weights() {
        return NdFloats.read(weightParam(), paramOrder());
    }

    @Override
    public float[] mask() {
        return NdFloats.read(maskParam(), paramOrder());
    }

    @Override
    public void setMask(float[] mask) {
        SparseMasks.setMask(this, layerConf(), mask, maskParam(), paramOrder());
        enforceMask();
        dropForwardCache();
    }

    @Override
    public int enforceMask() {
        return mw().enforce(weightParam(), maskParam());
    }

    @Override
    public boolean isFrozen() {
        return layerConf().isFrozen();
    }

    @Override
    public NmFormat frozenFormat() {
        return layerConf().frozenFormat();
    }

    @Override
    public void freeze(NmFormat nm) {
        SparseMasks.freeze(this, layerConf(), nm);
        mw().clearCache();
    }

    @Override
    public void unfreeze() {
        layerConf().setFrozen(false, null);
        mw().clearCache();
    }
}
