/**
 * The train job's configuration: one HOCON schema ({@code recipes/reference-train.conf}), validated in one place
 * ({@link io.sparsetrain.jobs.train.config.TrainConfig#from}) before any Spark work starts.
 */
package io.sparsetrain.jobs.train.config;
