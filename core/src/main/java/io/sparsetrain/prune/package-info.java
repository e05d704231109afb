/**
 * The vocabulary of pruning, free of Spark and ND4J: layer shapes over plain {@code float[]} weights,
 * 0/1 masks, versioned mask sets with a 64-bit checksum, and the {@link io.sparsetrain.prune.MaskMaker}
 * contract that every pruning method implements.
 */
package io.sparsetrain.prune;
