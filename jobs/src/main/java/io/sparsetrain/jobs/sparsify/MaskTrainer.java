package io.sparsetrain.jobs.sparsify;

import org.apache.spark.api.java.JavaRDD;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Data-parallel training of a mask vector (N:M logits or per-layer thresholds) on a frozen network, as the
 * sparsify job needs it: one call = one averaging round. Implementation: {@link AveragingMaskTrainer} (our own
 * parameter averaging on Spark; the network is broadcast once and never travels back).
 */
public interface MaskTrainer extends AutoCloseable {

  /**
   * One round: every worker (partition of {@code chunk}, in its order) starts from {@code state}, takes one optimizer step per
   * minibatch it holds, and the driver averages the workers' vectors and optimizer moments, weighted by steps.
   *
   * @return the averaged state and the round's mean loss; {@code state} is not modified
   */
  Round round(JavaRDD<DataSet> chunk, TrainerState state);

  @Override
  void close();

  /**
   * What a round produced.
   *
   * @param state the averaged vector and optimizer state
   * @param loss mean loss per minibatch over all workers (learned-nm: cross-entropy; allocation: KL + control loss)
   * @param examples images used
   * @param steps minibatch steps taken by all workers together
   * @param workers workers that held at least one minibatch
   */
  record Round(TrainerState state, double loss, long examples, int steps, int workers) {}
}
