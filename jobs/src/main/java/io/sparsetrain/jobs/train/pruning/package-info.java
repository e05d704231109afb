/**
 * Driver-side pruning control (METHODS.md section 5): masks computed from the averaged parameters after every
 * averaging round, the global target enforced exactly, masks frozen at the end of the pruning era.
 */
package io.sparsetrain.jobs.train.pruning;
