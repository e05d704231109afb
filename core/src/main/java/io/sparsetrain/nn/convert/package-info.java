/**
 * Conversion between stock DL4J networks and networks on sparse layers, keeping the weights
 * ({@link io.sparsetrain.nn.convert.SparseConversion}); the stock export applies the masks.
 */
package io.sparsetrain.nn.convert;
