/**
 * Optimizers for plain {@code float[]}/{@code double[]} parameters (mask logits, thresholds), independent
 * of ND4J's updaters so that the learned-mask methods can be tested and run without a network.
 */
package io.sparsetrain.learn.optim;
