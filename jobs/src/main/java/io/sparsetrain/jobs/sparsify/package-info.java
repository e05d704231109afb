/**
 * The {@code sparsify} job: post-training masks for a trained DL4J model on Spark (learned N:M masks, learned
 * per-layer allocation under an exact global rate, and the magnitude / uniform / ERK baselines; STR-BN filter removal
 * into a smaller dense model, trained on the driver), with parameter
 * averaging of the mask logits or thresholds only, checkpoints, and the sparse model, mask file and report as outputs.
 */
package io.sparsetrain.jobs.sparsify;
