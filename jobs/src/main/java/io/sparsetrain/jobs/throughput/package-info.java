/**
 * The {@code throughput} job: training images/s of a train configuration, 1 vs 2 workers and dense vs frozen sparse
 * (N:M on the compressed kernels, combined), side by side in one Spark application, with the train job's classes.
 */
package io.sparsetrain.jobs.throughput;
