/** The train job's results: per-epoch metrics, {@code metrics.json}, and an HTML report with PNG plots. */
package io.sparsetrain.jobs.train.report;
