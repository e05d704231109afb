/**
 * Structured filter pruning through BatchNorm (METHODS.md section 4, STR-BN): the soft-thresholded BN scale
 * with a learnable per-layer threshold (float and double precision), and the removal of dead filters from plain
 * conv/BN/next-layer arrays. The DL4J layer, training and graph-level removal are in {@code io.sparsetrain.nn.strbn}.
 */
package io.sparsetrain.learn.strbn;
