/**
 * The Vector API ({@code jdk.incubator.vector}) implementation of the kernels; loaded only
 * reflectively by {@link io.sparsetrain.kernels.KernelProvider}. See the documentation of
 * {@code io.sparsetrain.kernels} for the design.
 */
package io.sparsetrain.kernels.vector;
