package io.sparsetrain.nn.layers;

/**
 * What a sparse layer's mask is during a forward pass (JSON field {@code maskLearning.mode}).
 *
 * <ul>
 *   <li>{@link #FIXED}: the 0/1 parameter "M" (training and pruning as before).</li>
 *   <li>{@link #LEARNED_NM}: an N:M mask from per-group pattern logits "A" (METHODS.md section 2);
 *       weights and bias are frozen, "A" is the only trainable parameter.</li>
 *   <li>{@link #THRESHOLD}: the magnitude mask 1[|W| &gt; T] of a per-layer threshold "T" (METHODS.md
 *       section 3), with a straight-through gradient to T; weights frozen unless
 *       {@link MaskLearning#isAdjustWeights()}.</li>
 * </ul>
 */
public enum MaskMode {
    FIXED,
    LEARNED_NM,
    THRESHOLD
}
