/** Spark entry points of sparsetrain: the jobs users run with spark-submit. */
package io.sparsetrain.jobs;
