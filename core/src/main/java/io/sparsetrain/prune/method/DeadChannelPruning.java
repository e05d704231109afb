package io.sparsetrain.prune.method;

import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.Mask;

/**
 * Removal of dense weights fed by dead convolution channels (Campfire section 2.1.2, Figure 3): when
 * every kernel of an output channel of the last convolution is pruned, that channel's activations are
 * always zero, so the dense weights they feed can be pruned without looking at them.
 *
 * <p>Only valid when the convolution output reaches the dense layer through element-wise ops that map
 * zero to zero (ReLU, pooling, flatten): a bias, a BatchNorm shift or a residual addition in between
 * make a pruned channel a non-zero constant, and removing its dense weights then changes the output
 * (the constant could be folded into the dense bias). The dense input order is given by {@link CnnFlatten}.
 */
public final class DeadChannelPruning {
    private DeadChannelPruning() {
    }

    /** Flags, per output channel of a convolution mask, whether all its weights are pruned. */
    public static boolean[] deadOutputChannels(Mask convMask) {
        LayerShape s = convMask.shape();
        boolean[] dead = new boolean[s.outputs()];
        for (int o = 0; o < s.outputs(); o++) {
            boolean any = false;
            for (int k = 0; k < s.k() && !any; k++) {
                any = convMask.isKept(o, k);
            }
            dead[o] = !any;
        }
        return dead;
    }

    /**
     * The dense mask with every weight fed by a dead channel of {@code lastConvMask} also pruned.
     *
     * @param denseMask current mask of the dense layer (any dense layout)
     * @param lastConvMask mask of the convolution whose output is flattened into the dense layer
     * @param flatten channel count and spatial size of that output
     */
    public static Mask removeDeadInputs(Mask denseMask, Mask lastConvMask, CnnFlatten flatten) {
        check(denseMask.shape(), lastConvMask.shape(), flatten);
        return denseMask.and(deadInputMask(denseMask.shape(), lastConvMask, flatten));
    }

    /** Mask of the dense layer that prunes exactly the weights fed by dead channels. */
    public static Mask deadInputMask(LayerShape denseShape, Mask lastConvMask, CnnFlatten flatten) {
        check(denseShape, lastConvMask.shape(), flatten);
        boolean[] dead = deadOutputChannels(lastConvMask);
        boolean[] keep = new boolean[denseShape.size()];
        for (int r = 0; r < denseShape.outputs(); r++) {
            for (int k = 0; k < denseShape.k(); k++) {
                keep[denseShape.index(r, k)] = !dead[flatten.channelOf(k)];
            }
        }
        return Mask.fromKeep(denseShape, keep);
    }

    /** A copy of the dense weights with the inputs fed by dead channels set to zero, so any method ranks them first. */
    public static float[] zeroDeadInputs(float[] denseWeights, LayerShape denseShape, Mask lastConvMask,
                                         CnnFlatten flatten) {
        float[] copy = denseWeights.clone();
        deadInputMask(denseShape, lastConvMask, flatten).applyTo(copy);
        return copy;
    }

    private static void check(LayerShape dense, LayerShape conv, CnnFlatten flatten) {
        if (dense.isConv()) {
            throw new IllegalArgumentException("denseShape must be a dense layer, got " + dense);
        }
        if (!conv.isConv()) {
            throw new IllegalArgumentException("lastConvMask must be a convolution mask, got " + conv);
        }
        if (conv.outputs() != flatten.channels()) {
            throw new IllegalArgumentException("flatten.channels=" + flatten.channels()
                    + " does not match the convolution's " + conv.outputs() + " output channels (" + conv + ")");
        }
        if (dense.k() != flatten.size()) {
            throw new IllegalArgumentException("dense layer " + dense + " has " + dense.k()
                    + " inputs but the flattened convolution output has " + flatten.size() + " (" + flatten + ")");
        }
    }
}
