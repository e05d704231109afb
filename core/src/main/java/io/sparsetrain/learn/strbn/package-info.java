/**
 * Structured filter pruning through BatchNorm (METHODS.md section 4, STR-BN): the soft-thresholded BN scale
 * with a learnable per-layer threshold, and the removal of dead filters from plain conv/BN/next-layer arrays.
 */
package io.sparsetrain.learn.strbn;
