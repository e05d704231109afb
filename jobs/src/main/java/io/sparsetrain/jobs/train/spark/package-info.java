/**
 * Distributed training behind our own small interface ({@link io.sparsetrain.jobs.train.spark.DistributedTrainer}),
 * so that DL4J's deprecated Spark module (DL4J issue 9168) can be replaced without touching the pruning code.
 * Averaging rounds are bit-reproducible: a fixed minibatch order per worker and a partition-order sum
 * ({@link io.sparsetrain.jobs.train.spark.PartitionOrderAveragingTrainingMaster}).
 */
package io.sparsetrain.jobs.train.spark;
