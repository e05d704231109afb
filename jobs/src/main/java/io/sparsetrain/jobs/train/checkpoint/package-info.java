/**
 * Atomic, versioned training checkpoints on any Hadoop file system (local, s3a://): model zip with updater state,
 * masks, schedule position and seeds, so that {@code --resume} continues at the same step with identical masks.
 */
package io.sparsetrain.jobs.train.checkpoint;
