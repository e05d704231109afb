package io.sparsetrain.nn.layers;

import io.sparsetrain.kernels.NmFormat;
import io.sparsetrain.prune.nm.NmGroupOrder;

/**
 * The sparse-specific settings every sparse layer configuration carries in DL4J's JSON: whether
 * its mask is frozen and, if the frozen mask is N:M, which format (then the layer computes on the
 * compressed N:M kernels). The mask itself is parameter {@link #MASK_KEY}, not configuration.
 */
public interface SparseLayerConfig {

    /** Parameter key of the 0/1 mask, same shape and order as the weight "W". */
    String MASK_KEY = "M";

    /**
     * Parameter key of the learned N:M pattern logits ({@link MaskMode#LEARNED_NM}): [1, rows * groups * C(M,N)],
     * layout of {@link io.sparsetrain.learn.nm.GumbelNmMask#logits()}.
     */
    String LOGITS_KEY = "A";

    /** Parameter key of the learned magnitude threshold ({@link MaskMode#THRESHOLD}): [1, 1], weight units. */
    String THRESHOLD_KEY = "T";

    /** Whether the layer has a bias parameter "b". */
    boolean hasBias();

    boolean isFrozen();

    /** The N:M format of a frozen mask, or null when the layer computes densely. */
    NmFormat frozenFormat();

    /** Sets the frozen state; {@code nm} may be null (frozen, dense path). N:M groups along K. */
    void setFrozen(boolean frozen, NmFormat nm);

    /**
     * Which weights form the N:M groups of a frozen mask ({@link NmGroupOrder#KERNEL} unless a convolution was
     * frozen with channel-wise groups).
     */
    default NmGroupOrder frozenGroupOrder() {
        return NmGroupOrder.KERNEL;
    }

    /** Sets the frozen state with the N:M groups formed in {@code order}. */
    default void setFrozen(boolean frozen, NmFormat nm, NmGroupOrder order) {
        if (order != NmGroupOrder.KERNEL && frozen && nm != null) {
            throw new UnsupportedOperationException(getClass().getSimpleName() + " has no " + order.label()
                    + "-wise N:M groups");
        }
        setFrozen(frozen, nm);
    }

    /** The mask-learning settings, or null for a fixed 0/1 mask. */
    MaskLearning getMaskLearning();

    /** Sets (or with null clears) the mask-learning settings; changes the parameter set, so only before init. */
    void setMaskLearning(MaskLearning maskLearning);

    /** {@link MaskMode#FIXED} unless mask-learning settings say otherwise. */
    default MaskMode maskMode() {
        MaskLearning ml = getMaskLearning();
        return ml == null ? MaskMode.FIXED : ml.getMode();
    }
}
