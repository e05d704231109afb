package io.sparsetrain.nn.layers;

import io.sparsetrain.learn.nm.GumbelNmMask;
import io.sparsetrain.prune.Mask;

/**
 * A sparse layer whose mask can be learned ({@link MaskMode#LEARNED_NM}, {@link MaskMode#THRESHOLD}) instead of
 * set. The learned parameter ("A" logits or "T" threshold) is a DL4J parameter like any other, so it is saved
 * in model zips and can be trained with DL4J's own fit (the weights then have NoOp updaters); a driver that
 * runs its own optimizer uses {@link #learnedParams()} / {@link #setLearnedParams} / {@link #learnedGradient()}.
 */
public interface MaskLearningLayer extends SparseLayer {

    MaskMode maskMode();

    /** The layer's settings, or null in {@link MaskMode#FIXED}. */
    MaskLearning maskLearning();

    /** A copy of the learned parameter: the logits (layout of {@link GumbelNmMask#logits()}) or {T}. */
    float[] learnedParams();

    /** Replaces the learned parameter (same length as {@link #learnedParams()}; a threshold must be finite, &gt;= 0). */
    void setLearnedParams(float[] values);

    /**
     * The gradient of the loss with respect to the learned parameter from the last backward pass, or zeros
     * before the first one (a copy). Summed over the minibatch, DL4J's convention (its updater divides by the
     * batch size); divide by the batch size for the gradient of the mean loss.
     */
    float[] learnedGradient();

    /**
     * dL/dW from the last backward pass in the storage order of {@link #maskShape()} (zero where the mask prunes,
     * and everywhere unless the weights are trainable: a fixed mask or {@link MaskLearning#isAdjustWeights()});
     * summed over the minibatch like {@link #learnedGradient()}. Zeros before the first backward pass.
     */
    float[] weightGradient();

    /**
     * The mask inference uses: the argmax N:M pattern per group ({@link GumbelNmMask#hardMask()}), the magnitude
     * mask 1[|W| &gt; T], or in {@link MaskMode#FIXED} the parameter "M".
     */
    Mask learnedMask();

    /**
     * Re-initialises the logits from the layer's current weights ({@link GumbelNmMask#create}); N and M of
     * {@code config} must be the layer's.
     *
     * @throws IllegalStateException unless the layer is in {@link MaskMode#LEARNED_NM}
     */
    void initLogits(GumbelNmMask.Config config);

    /** Sets the Gumbel-softmax temperature of the following training forward passes. */
    void setTemperature(double tau);

    /**
     * Sets the counter that, with the configured noise seed and the layer index, seeds the Gumbel noise of the
     * next training forward pass; the counter then advances by one per training forward pass. Setting it
     * makes a forward pass reproducible (workers, gradient checks).
     */
    void setNoiseStep(long step);
}
