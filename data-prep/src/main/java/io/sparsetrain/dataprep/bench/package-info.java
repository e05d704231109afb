/** Throughput benchmark of data-prep: Fashion-MNIST to Parquet shards and back to DL4J DataSets, images/s. */
package io.sparsetrain.dataprep.bench;
