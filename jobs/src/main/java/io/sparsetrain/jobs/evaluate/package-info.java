/**
 * The {@code evaluate} job: top-1/top-5, per-class and FGSM accuracy, the mask stability certificate, sparsity and
 * compressed-vs-dense inference speed of one or more trained models, written as {@code evaluation.json} and an HTML
 * report with PNG plots. See docs/evaluate.md.
 */
package io.sparsetrain.jobs.evaluate;
