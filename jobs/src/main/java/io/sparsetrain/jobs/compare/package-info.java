/**
 * The {@code compare} job: one command that runs the sparsify job per (method, sparsity) cell on a dense model and
 * writes the papers' comparison table (top-1 / top-5, time to sparsify, the dense row) with an accuracy-vs-sparsity
 * chart; finished cells are skipped on {@code --resume}.
 */
package io.sparsetrain.jobs.compare;
