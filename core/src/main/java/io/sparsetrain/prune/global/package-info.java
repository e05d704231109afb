/**
 * The driver-side global sparsity controller: turns per-layer pruning methods and one global target
 * (zeros over all prunable weights) into a {@link io.sparsetrain.prune.MaskSet} that hits the target
 * within 0.1 percentage point, with a per-layer report.
 */
package io.sparsetrain.prune.global;
