/**
 * The {@code train} job: distributed training with DL4J parameter averaging and gradual pruning driven from the
 * driver ({@link io.sparsetrain.jobs.train.TrainCommand}, {@link io.sparsetrain.jobs.train.TrainJob}).
 */
package io.sparsetrain.jobs.train;
