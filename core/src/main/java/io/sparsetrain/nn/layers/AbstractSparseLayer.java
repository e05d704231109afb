package io.sparsetrain.nn.layers;

import io.sparsetrain.kernels.NmFormat;
import io.sparsetrain.kernels.NmMatrix;
import io.sparsetrain.learn.nm.GumbelNmMask;
import io.sparsetrain.learn.nm.SoftMask;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.nm.NmGroupOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.Gradient;
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
        extends BaseLayer<C> implements MaskLearningLayer {

    /** The weight parameter's key (both initializers use DL4J's "W"). */
    static final String WEIGHT_KEY = "W";

    private transient MaskedWeights maskedWeights;
    /** How many backward passes had to recompute their forward pass; subclasses count. */
    protected transient int recomputedForwards;
    private transient long noiseStep;
    private transient float[] lastLearnedGradient;

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
        requireFixed("setMask");
        SparseMasks.setMask(this, layerConf(), mask, maskParam(), paramOrder());
        enforceMask();
        dropForwardCache();
    }

    @Override
    public int enforceMask() {
        if (layerConf().maskMode() != MaskMode.FIXED) {
            return 0; // a learned mask never writes to the (frozen) weights
        }
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
        freeze(nm, NmGroupOrder.KERNEL);
    }

    @Override
    public void freeze(NmFormat nm, NmGroupOrder order) {
        requireFixed("freeze");
        SparseMasks.freeze(this, layerConf(), nm, order);
        mw().clearCache();
    }

    @Override
    public NmGroupOrder frozenGroupOrder() {
        return layerConf().frozenGroupOrder();
    }

    private int[] kOrder;
    private NmGroupOrder kOrderFor;

    /**
     * The K order of the compressed matrix of a frozen N:M mask: null when its groups run along K as stored, else
     * the stored K index of each position (channel-wise groups of a convolution; see {@link NmGroupOrder}).
     */
    protected final int[] frozenKOrder() {
        NmGroupOrder order = layerConf().frozenGroupOrder();
        if (order != kOrderFor) {
            kOrder = order.originalKs(maskShape());
            kOrderFor = order;
        }
        return kOrder;
    }

    @Override
    public void unfreeze() {
        layerConf().setFrozen(false, null);
        mw().clearCache();
    }

    private void requireFixed(String what) {
        if (layerConf().maskMode() != MaskMode.FIXED) {
            throw new IllegalStateException("layer " + layerName() + " learns its mask (" + layerConf().getMaskLearning()
                    + "); " + what + " needs a fixed mask: export learnedMask() and apply it to a fixed-mask copy");
        }
    }

    // ------------------------------------------------------------ mask learning

    /**
     * What a forward pass multiplies with: the effective weights W * m, the mask m, and for mask learning what the
     * backward pass needs.
     */
    record Effective(float[] weights, float[] mask, Learned learned) {
    }

    /** The frozen weights, the logits and Gumbel-softmax sample (N:M) or the threshold of one forward pass. */
    record Learned(float[] raw, GumbelNmMask logits, SoftMask soft, float threshold) {
    }

    /** The compressed N:M weights of this pass for a frozen N:M mask, else null. */
    protected final NmMatrix compressed(Effective wm) {
        NmFormat nm = layerConf().frozenFormat();
        if (nm == null) {
            return null;
        }
        float[] mask = layerConf().getMaskLearning() == null ? wm.mask() : NdFloats.read(maskParam(), mw().order());
        return mw().compressed(wm.weights(), mask, nm, frozenKOrder());
    }

    /**
     * The compressed N:M matrix of this layer's frozen N:M mask holding {@code weights} (stored order, e.g. with a
     * batch norm folded in), in the K order the layer computes in ({@link #computesInPermutedK()}); null unless the
     * mask is frozen N:M. For inference outside DL4J ({@code nn.infer.InferencePlan}).
     */
    public NmMatrix compressedWith(float[] weights) {
        NmFormat nm = layerConf().frozenFormat();
        if (nm == null) {
            return null;
        }
        int[] order = frozenKOrder();
        return NmMatrix.fromDense(mw().inOrder(weights, order), mw().inOrder(mask(), order), maskShape().outputs(),
                maskShape().k(), nm.n(), nm.m());
    }

    /** Whether the compressed matrix of a frozen N:M mask runs in a permuted K order (channel-wise groups). */
    public boolean computesInPermutedK() {
        return layerConf().frozenFormat() != null && frozenKOrder() != null;
    }

    /** W * m for a forward pass; in FIXED mode W * M (re-masking the parameter in training, as before). */
    protected final Effective effective(boolean training) {
        MaskLearning ml = layerConf().getMaskLearning();
        if (ml == null) {
            MaskedWeights.Pair p = !training && layerConf().frozenFormat() != null
                    ? mw().maskedForInference(weightParam(), maskParam(), layerConf().frozenFormat(), frozenKOrder())
                    : mw().masked(weightParam(), maskParam(), training);
            return new Effective(p.weights(), p.mask(), null);
        }
        float[] raw = NdFloats.read(weightParam(), paramOrder()); // only read: learned masks never write W
        float[] m;
        GumbelNmMask g = null;
        SoftMask soft = null;
        float t = 0;
        if (ml.getMode() == MaskMode.LEARNED_NM) {
            g = GumbelNmMask.fromLogits(maskShape(), ml.getN(), ml.getM(), NdFloats.read(getParam(SparseLayerConfig.LOGITS_KEY), 'c'),
                    ml.getGroupOrder());
            if (training) {
                double[] noise = ml.isGumbelNoise() ? g.sampleGumbel(nextNoise(ml)) : new double[g.logitCount()];
                soft = g.softMask(ml.getTau(), noise, ml.isStraightThrough());
                m = soft.mask();
            } else {
                m = g.hardMask().toFloatArray();
            }
        } else {
            t = threshold();
            m = new float[raw.length];
            for (int i = 0; i < raw.length; i++) {
                m[i] = Math.abs(raw[i]) > t ? 1f : 0f;
            }
        }
        float[] w = new float[raw.length];
        for (int i = 0; i < raw.length; i++) {
            w[i] = raw[i] * m[i];
        }
        return new Effective(w, m, new Learned(raw, g, soft, t));
    }

    private SplittableRandom nextNoise(MaskLearning ml) {
        long s = ml.getNoiseSeed() * 0x9E3779B97F4A7C15L + (getIndex() + 1) * 0xC2B2AE3D27D4EB4FL + (noiseStep++) * 0x165667B19E3779F9L;
        return new SplittableRandom(s);
    }

    private float threshold() {
        return getParam(SparseLayerConfig.THRESHOLD_KEY).getFloat(0);
    }

    /** Whether the bias gets a real gradient (fixed mask, or a threshold layer that adjusts its weights). */
    protected final boolean biasTrainable() {
        return SparseParams.trainable(layerConf(), "b");
    }

    /**
     * Puts the gradients of W, M and the learned parameter into {@code gradient}, from dL/d(W*m) {@code dEff}
     * (storage order; modified): FIXED dW = dEff * M; LEARNED_NM dW = 0 and dA through m; THRESHOLD dT by the
     * straight-through estimator and dW = dEff * m if the weights are adjusted, else 0.
     */
    protected final void putWeightGradients(Gradient gradient, float[] dEff, Effective e) {
        MaskLearning ml = layerConf().getMaskLearning();
        float[] mask = e.mask();
        if (ml != null) {
            Learned l = e.learned();
            float[] dLdm = new float[dEff.length];
            for (int i = 0; i < dEff.length; i++) {
                dLdm[i] = dEff[i] * l.raw()[i];
            }
            float[] learned;
            if (ml.getMode() == MaskMode.LEARNED_NM) {
                learned = l.logits().backward(l.soft(), dLdm);
                java.util.Arrays.fill(dEff, 0f);
            } else {
                // dm_i/dT of the smoothed step Phi((|w_i| - T) / h): -phi((|w_i| - T) / h) / h
                double h = ml.getSteBandwidth();
                double sum = 0;
                for (int i = 0; i < dLdm.length; i++) {
                    double z = (Math.abs(l.raw()[i]) - l.threshold()) / h;
                    if (z > -12 && z < 12) { // phi below 1e-31 beyond
                        sum -= dLdm[i] * Math.exp(-0.5 * z * z) * INV_SQRT_2PI / h;
                    }
                }
                learned = new float[] {(float) sum};
                if (!ml.isAdjustWeights()) {
                    java.util.Arrays.fill(dEff, 0f);
                }
            }
            INDArray lv = gradientViews.get(SparseParams.extraKey(layerConf()));
            NdFloats.write(learned, lv, 'c');
            gradient.gradientForVariable().put(SparseParams.extraKey(layerConf()), lv);
            lastLearnedGradient = learned;
        }
        for (int i = 0; i < dEff.length; i++) {
            dEff[i] *= mask[i]; // pruned weights get exactly zero gradient
        }
        INDArray wGrad = gradientViews.get(WEIGHT_KEY);
        NdFloats.write(dEff, wGrad, paramOrder());
        gradient.gradientForVariable().put(WEIGHT_KEY, wGrad);
        INDArray mGrad = gradientViews.get(SparseLayerConfig.MASK_KEY);
        mGrad.assign(0);
        gradient.gradientForVariable().put(SparseLayerConfig.MASK_KEY, mGrad);
    }

    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2 * Math.PI);

    @Override
    public MaskMode maskMode() {
        return layerConf().maskMode();
    }

    @Override
    public MaskLearning maskLearning() {
        return layerConf().getMaskLearning();
    }

    private String learnedKey() {
        String key = SparseParams.extraKey(layerConf());
        if (key == null) {
            throw new IllegalStateException("layer " + layerName() + " has a fixed mask and no learned parameter");
        }
        return key;
    }

    @Override
    public float[] learnedParams() {
        return NdFloats.read(getParam(learnedKey()), 'c');
    }

    @Override
    public void setLearnedParams(float[] values) {
        INDArray p = getParam(learnedKey());
        if (values.length != p.length()) {
            throw new IllegalArgumentException("layer " + layerName() + ": " + learnedKey() + " has " + p.length()
                    + " entries, got " + values.length);
        }
        if (layerConf().maskMode() == MaskMode.THRESHOLD && !(values[0] >= 0 && Float.isFinite(values[0]))) {
            throw new IllegalArgumentException("layer " + layerName() + ": threshold must be finite and >= 0, got " + values[0]);
        }
        NdFloats.write(values, p, 'c');
        dropForwardCache();
    }

    @Override
    public void setWeights(float[] weights) {
        INDArray w = weightParam();
        if (weights.length != w.length()) {
            throw new IllegalArgumentException("layer " + layerName() + ": W has " + w.length() + " entries, got " + weights.length);
        }
        for (int i = 0; i < weights.length; i++) {
            if (!Float.isFinite(weights[i])) {
                throw new IllegalArgumentException("layer " + layerName() + ": weight " + i + " is " + weights[i]);
            }
        }
        NdFloats.write(weights, w, paramOrder());
        enforceMask();
        dropForwardCache();
    }

    @Override
    public float[] weightGradient() {
        INDArray g = gradientViews == null ? null : gradientViews.get(WEIGHT_KEY);
        return g == null ? new float[(int) weightParam().length()] : NdFloats.read(g, paramOrder());
    }

    @Override
    public float[] learnedGradient() {
        float[] g = lastLearnedGradient;
        return g != null ? g.clone() : new float[(int) getParam(learnedKey()).length()];
    }

    @Override
    public Mask learnedMask() {
        MaskLearning ml = layerConf().getMaskLearning();
        if (ml == null) {
            return Mask.fromFloats(maskShape(), mask());
        }
        if (ml.getMode() == MaskMode.LEARNED_NM) {
            return GumbelNmMask.fromLogits(maskShape(), ml.getN(), ml.getM(), learnedParams(), ml.getGroupOrder()).hardMask();
        }
        float t = threshold();
        float[] w = weights();
        boolean[] keep = new boolean[w.length];
        for (int i = 0; i < w.length; i++) {
            keep[i] = Math.abs(w[i]) > t;
        }
        return Mask.fromKeep(maskShape(), keep);
    }

    @Override
    public void initLogits(GumbelNmMask.Config config) {
        MaskLearning ml = layerConf().getMaskLearning();
        if (ml == null || ml.getMode() != MaskMode.LEARNED_NM) {
            throw new IllegalStateException("layer " + layerName() + " does not learn an N:M mask");
        }
        if (config.n() != ml.getN() || config.m() != ml.getM()) {
            throw new IllegalArgumentException("layer " + layerName() + " learns " + ml.getN() + ":" + ml.getM()
                    + " masks, the logit config is " + config.n() + ":" + config.m());
        }
        if (config.groupOrder() != ml.getGroupOrder()) {
            throw new IllegalArgumentException("layer " + layerName() + " learns " + ml.getGroupOrder().label()
                    + "-wise groups, the logit config has " + config.groupOrder().label() + "-wise ones");
        }
        GumbelNmMask g = GumbelNmMask.create(new PrunableLayer(layerName(), maskShape(), weights()), config);
        NdFloats.write(g.logits(), getParam(SparseLayerConfig.LOGITS_KEY), 'c');
        dropForwardCache();
    }

    @Override
    public void setTemperature(double tau) {
        MaskLearning ml = layerConf().getMaskLearning();
        if (ml == null || ml.getMode() != MaskMode.LEARNED_NM) {
            throw new IllegalStateException("layer " + layerName() + " does not learn an N:M mask");
        }
        layerConf().setMaskLearning(ml.withTemperature(tau));
    }

    @Override
    public void setNoiseStep(long step) {
        noiseStep = step;
    }
}
