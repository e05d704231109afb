/** Image collections (class folders, IDX, CIFAR) to Parquet shards, and shards back to DL4J DataSets. */
package io.sparsetrain.dataprep;
