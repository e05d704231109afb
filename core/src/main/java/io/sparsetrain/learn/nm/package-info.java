/**
 * Learned N:M masks on frozen weights (METHODS.md section 2, the learned 2:4 Gumbel-softmax paper):
 * the C(M,N) pattern matrix, per-group pattern logits with a Gumbel-softmax soft mask and its backward
 * pass, the deterministic hard mask, and the temperature schedule.
 */
package io.sparsetrain.learn.nm;
