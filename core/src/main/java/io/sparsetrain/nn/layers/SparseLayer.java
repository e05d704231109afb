package io.sparsetrain.nn.layers;

import io.sparsetrain.kernels.NmFormat;
import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.nm.NmGroupOrder;

/**
 * A DL4J layer instance that holds a 0/1 mask beside its weights (see the package note). Weights
 * and masks are exchanged as flat {@code float[]} in the storage order of {@link #maskShape()}:
 * {@code [Cout, Cin, kh, kw]} row-major for convolutions, {@code [out, in]} row-major for dense
 * layers (DL4J's {@code [nIn, nOut]} 'f'-order "W").
 */
public interface SparseLayer {

    /** The layer's name in its network (vertex name, or the layer index for a MultiLayerNetwork). */
    String layerName();

    /** Weight shape in the pruning (im2col / GEMM) view. */
    LayerShape maskShape();

    /** A copy of the weights (already multiplied by the mask). */
    float[] weights();

    /**
     * Replaces the weights (storage order of {@link #maskShape()}); with a fixed mask the masked entries are then
     * zeroed. For weight adjustment during mask learning and for copying adjusted weights back.
     *
     * @throws IllegalArgumentException if the length is wrong or a value is not finite
     */
    void setWeights(float[] weights);

    /** A copy of the 0/1 mask. */
    float[] mask();

    /**
     * Replaces the mask and zeroes the weights it prunes.
     *
     * @throws IllegalArgumentException if the length is wrong or an entry is not 0 or 1
     * @throws IllegalStateException if the layer is frozen and the mask differs from the current one
     */
    void setMask(float[] mask);

    /** W *= M in place; returns how many weights were non-zero at masked positions (and are now 0). */
    int enforceMask();

    boolean isFrozen();

    /** The frozen N:M format, or null. */
    NmFormat frozenFormat();

    /**
     * Freezes the current mask. With a non-null {@code nm} the mask must satisfy it and the layer
     * switches to the compressed N:M kernels; with null it stays on the dense path.
     *
     * @throws IllegalArgumentException if the mask is not {@code nm}-shaped
     */
    void freeze(NmFormat nm);

    /**
     * {@link #freeze(NmFormat)} with the N:M groups formed in {@code order}: with {@link NmGroupOrder#CHANNEL} a
     * convolution keeps its compressed weights in the K order (kernel row, kernel column, input channel) and
     * unfolds its input in that order too.
     *
     * @throws IllegalArgumentException if the mask is not {@code nm}-shaped in that order
     */
    void freeze(NmFormat nm, NmGroupOrder order);

    /** The group order of the frozen N:M mask ({@link NmGroupOrder#KERNEL} when none). */
    NmGroupOrder frozenGroupOrder();

    /** Back to a trainable mask on the dense path. */
    void unfreeze();
}
