package io.sparsetrain.jobs.sparsify;

import java.io.Serializable;

/**
 * The trainable vector (mask logits of every learning layer concatenated in layer order, or one normalised
 * threshold per layer) and its optimizer's moments: everything that travels between the driver and the workers.
 */
final class TrainerState implements Serializable {
  private static final long serialVersionUID = 1L;

  final float[] vector;
  final AveragedAdamW optimizer;

  TrainerState(float[] vector, AveragedAdamW optimizer) {
    if (vector.length != optimizer.m.length) {
      throw new IllegalArgumentException("vector has " + vector.length + " entries, optimizer state " + optimizer.m.length);
    }
    this.vector = vector;
    this.optimizer = optimizer;
  }

  TrainerState copy() {
    return new TrainerState(vector.clone(), optimizer.copy());
  }

  /** Optimizer steps so far (global, averaged over workers per round). */
  long step() {
    return optimizer.step;
  }
}
