package io.sparsetrain.nn.layers;

import io.sparsetrain.learn.nm.NmPatterns;
import io.sparsetrain.prune.LayerShape;
import java.util.Collections;
import java.util.List;
import java.util.function.Function;
import org.deeplearning4j.nn.conf.weightnoise.IWeightNoise;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.regularization.Regularization;

/** Which parameters a sparse layer has and trains in each {@link MaskMode}; shared by the configurations and initializers. */
final class SparseParams {

    private SparseParams() {
    }

    /** Whether {@code key} is trained (gets a real updater and a non-zero gradient) in the layer's mask mode. */
    static boolean trainable(SparseLayerConfig c, String key) {
        switch (c.maskMode()) {
            case LEARNED_NM:
                return SparseLayerConfig.LOGITS_KEY.equals(key);
            case THRESHOLD:
                return SparseLayerConfig.THRESHOLD_KEY.equals(key)
                        || (c.getMaskLearning().isAdjustWeights() && ("W".equals(key) || "b".equals(key)));
            default:
                return !SparseLayerConfig.MASK_KEY.equals(key);
        }
    }

    /** The key of the mode's extra parameter ("A" or "T"), or null in {@link MaskMode#FIXED}. */
    static String extraKey(SparseLayerConfig c) {
        switch (c.maskMode()) {
            case LEARNED_NM:
                return SparseLayerConfig.LOGITS_KEY;
            case THRESHOLD:
                return SparseLayerConfig.THRESHOLD_KEY;
            default:
                return null;
        }
    }

    /** Length of the extra parameter: rows * ceil(K / M) * C(M, N) logits, 1 threshold, or 0. */
    static long extraCount(SparseLayerConfig c, LayerShape shape) {
        switch (c.maskMode()) {
            case LEARNED_NM: {
                MaskLearning ml = c.getMaskLearning();
                long groups = (shape.k() + ml.getM() - 1) / ml.getM(); // K padded to a multiple of M
                return (long) shape.outputs() * groups * NmPatterns.binomial(ml.getM(), ml.getN());
            }
            case THRESHOLD:
                return 1;
            default:
                return 0;
        }
    }

    /**
     * Checks before a layer is instantiated: a frozen layer in a mask-learning mode (the two exclude each other)
     * and weight noise (not supported by sparse layers) are rejected, naming the layer.
     */
    static void checkInstantiable(SparseLayerConfig c, String layerName, IWeightNoise weightNoise) {
        if (c.maskMode() != MaskMode.FIXED && c.isFrozen()) {
            throw new IllegalArgumentException("layer " + layerName + ": a frozen mask cannot be learned ("
                    + c.getMaskLearning() + "); unfreeze the layer first");
        }
        if (weightNoise != null) {
            throw new IllegalArgumentException("layer " + layerName + ": weight noise is not supported by sparse layers");
        }
    }

    /**
     * The updater of {@code key}: the mask never moves; with mask learning only the trainable parameters move, with the
     * layer's weight updater. {@code base} is DL4J's own per-parameter lookup.
     */
    static IUpdater updaterByParam(SparseLayerConfig c, String key, Function<String, IUpdater> base) {
        if (c.maskMode() == MaskMode.FIXED) {
            return SparseLayerConfig.MASK_KEY.equals(key) ? new NoOp() : base.apply(key);
        }
        // mask learning: only the logits / threshold (and, if adjusted, the weights) move
        return trainable(c, key) ? base.apply("W") : new NoOp();
    }

    /** Regularization of {@code key}: none on the mask and none while masks are learned. */
    static List<Regularization> regularizationByParam(SparseLayerConfig c, String key,
            Function<String, List<Regularization>> base) {
        return c.maskMode() == MaskMode.FIXED && !SparseLayerConfig.MASK_KEY.equals(key) ? base.apply(key)
                : Collections.emptyList();
    }

    /** The stored mask-learning settings: null for none or {@link MaskMode#FIXED}. */
    static MaskLearning normalized(MaskLearning maskLearning) {
        return maskLearning == null || maskLearning.getMode() == MaskMode.FIXED ? null : maskLearning;
    }
}
