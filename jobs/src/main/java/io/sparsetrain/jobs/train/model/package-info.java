/**
 * The network being trained, seen by the train job through {@link io.sparsetrain.jobs.train.model.PrunableModel}:
 * its prunable weights, masks and freeze state. {@link io.sparsetrain.jobs.train.model.ModelFactory} builds the
 * {@code io.sparsetrain.nn.models} networks (or converts a user's DL4J model); on sparse layers the driver's view is
 * {@link io.sparsetrain.jobs.train.model.MaskedNetworkModel} (masks are the "M" parameter), on stock DL4J layers
 * (the baseline) {@link io.sparsetrain.jobs.train.model.GraphPrunableModel}.
 */
package io.sparsetrain.jobs.train.model;
