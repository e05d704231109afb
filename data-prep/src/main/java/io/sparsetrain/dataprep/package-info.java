/**
 * Image collections (class folders, IDX, CIFAR) to sharded Parquet datasets with a versioned manifest
 * ({@link io.sparsetrain.dataprep.PrepCommand}, {@link io.sparsetrain.dataprep.PrepJob}), and shards back to
 * DL4J DataSets on the executors or locally ({@link io.sparsetrain.dataprep.ParquetDataSets}).
 */
package io.sparsetrain.dataprep;
