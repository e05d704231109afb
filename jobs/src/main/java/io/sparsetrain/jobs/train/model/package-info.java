/**
 * The network being trained, seen by the train job through {@link io.sparsetrain.jobs.train.model.PrunableModel}:
 * its prunable weights, masks and freeze state; built from the model builders or loaded from DL4J files.
 */
package io.sparsetrain.jobs.train.model;
