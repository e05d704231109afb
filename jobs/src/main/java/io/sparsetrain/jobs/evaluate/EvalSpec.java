package io.sparsetrain.jobs.evaluate;

import java.io.Serializable;

/**
 * What every evaluator needs besides the networks: class count, k of top-k, the FGSM epsilons (nominal, as
 * fractions of the input range) and the valid input range [lo, hi] of the normalised images.
 */
record EvalSpec(int classes, int topK, double[] eps, double lo, double hi) implements Serializable {
  private static final long serialVersionUID = 1L;

  /** eps scaled to the input range: eps * (hi - lo). */
  double scaled(int i) {
    return eps[i] * (hi - lo);
  }
}
