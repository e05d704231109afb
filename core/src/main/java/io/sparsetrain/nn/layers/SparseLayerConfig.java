package io.sparsetrain.nn.layers;

import io.sparsetrain.kernels.NmFormat;

/**
 * The sparse-specific settings every sparse layer configuration carries in DL4J's JSON: whether
 * its mask is frozen and, if the frozen mask is N:M, which format (then the layer computes on the
 * compressed N:M kernels). The mask itself is parameter {@link #MASK_KEY}, not configuration.
 */
public interface SparseLayerConfig {

    /** Parameter key of the 0/1 mask, same shape and order as the weight "W". */
    String MASK_KEY = "M";

    /** Whether the layer has a bias parameter "b". */
    boolean hasBias();

    boolean isFrozen();

    /** The N:M format of a frozen mask, or null when the layer computes densely. */
    NmFormat frozenFormat();

    /** Sets the frozen state; {@code nm} may be null (frozen, dense path). */
    void setFrozen(boolean frozen, NmFormat nm);
}
