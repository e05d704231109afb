/**
 * Learned per-layer sparsity under an exact global rate, post-training (METHODS.md section 3, FCPTS):
 * the kernel-density bridge from threshold to sparsity, the threshold allocator with its control loss,
 * the exact global correction, the KL reconstruction loss, and the uniform and ERK baselines.
 */
package io.sparsetrain.learn.alloc;
