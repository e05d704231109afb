/**
 * When to prune and how much: the cubic sparsity schedule of Zhu and Gupta with a pruning era and a
 * mask freeze (Campfire, equation 1), evaluated per optimizer step.
 */
package io.sparsetrain.prune.schedule;
