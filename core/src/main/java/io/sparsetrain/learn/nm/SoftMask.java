package io.sparsetrain.learn.nm;

/**
 * One Gumbel-softmax forward pass of a {@link GumbelNmMask}: the mask to multiply the frozen weights with
 * and what the backward pass needs.
 *
 * @param mask the mask m = P y per block, in the weights' storage layout (values in [0, 1]; 0/1 when
 *     straight-through). Not copied: do not modify it.
 * @param y the sampled pattern probabilities y_b = softmax((a_b + g_b) / tau), row-major
 *     [rows, groups, C(M,N)] like the logits
 * @param tau the temperature used
 * @param straightThrough true if the forward mask is the hard one-hot pattern of argmax y while the
 *     backward pass uses the soft y (straight-through estimator)
 */
public record SoftMask(float[] mask, double[] y, double tau, boolean straightThrough) {
}
