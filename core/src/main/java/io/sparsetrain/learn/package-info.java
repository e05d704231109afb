/**
 * Post-training sparsity methods as plain-array mathematics (no Spark, no ND4J): learned N:M masks,
 * learned per-layer allocation under an exact global rate, STR-BN filter removal and stability certificates.
 */
package io.sparsetrain.learn;
