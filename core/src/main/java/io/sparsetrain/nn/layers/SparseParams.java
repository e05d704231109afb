package io.sparsetrain.nn.layers;

import io.sparsetrain.learn.nm.NmPatterns;
import io.sparsetrain.prune.LayerShape;

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

    /** Rejects a frozen layer in a mask-learning mode (the two exclude each other). */
    static void checkLearningSettings(SparseLayerConfig c, String layerName) {
        if (c.maskMode() != MaskMode.FIXED && c.isFrozen()) {
            throw new IllegalArgumentException("layer " + layerName + ": a frozen mask cannot be learned ("
                    + c.getMaskLearning() + "); unfreeze the layer first");
        }
    }
}
