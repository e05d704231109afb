package io.sparsetrain.jobs.sparsify;

import java.io.Serializable;

/**
 * AdamW on the trainable vector (mask logits or thresholds) whose moment estimates travel with it: the same
 * update as {@code io.sparsetrain.learn.optim.AdamW} (decoupled weight decay, bias-corrected moments), but with
 * its state exposed so that workers start each averaging round from the driver's averaged moments, as DL4J's
 * parameter averaging does with its updater state. Step counts are global optimizer steps.
 *
 * <p>Entries from {@link #split} on use {@link #splitLearningRate} and no weight decay: the weights that
 * {@code --adjust-weights} appends to the thresholds.
 */
final class AveragedAdamW implements Serializable {
  private static final long serialVersionUID = 1L;

  static final double BETA1 = 0.9;
  static final double BETA2 = 0.999;
  static final double EPSILON = 1e-8;

  final double learningRate;
  final double weightDecay;
  final int split;
  final double splitLearningRate;
  final float[] m;
  final float[] v;
  long step;

  AveragedAdamW(double learningRate, double weightDecay, int size) {
    this(learningRate, weightDecay, size, 0, new float[size], new float[size], 0);
  }

  /** Entries {@code split..size-1} train at {@code splitLearningRate} without weight decay. */
  AveragedAdamW(double learningRate, double weightDecay, int split, double splitLearningRate, float[] m, float[] v,
      long step) {
    if (split < 0 || split > m.length) {
      throw new IllegalArgumentException("split " + split + " outside 0.." + m.length);
    }
    this.learningRate = learningRate;
    this.weightDecay = weightDecay;
    this.split = split;
    this.splitLearningRate = splitLearningRate;
    this.m = m;
    this.v = v;
    this.step = step;
  }

  AveragedAdamW copy() {
    return withMoments(m.clone(), v.clone(), step);
  }

  /** The same settings with other moments (averaged ones, or read from a checkpoint). */
  AveragedAdamW withMoments(float[] m, float[] v, long step) {
    return new AveragedAdamW(learningRate, weightDecay, split, splitLearningRate, m, v, step);
  }

  /** One update of {@code params} in place with the gradient of the mean loss. */
  void step(float[] params, float[] grads) {
    if (params.length != m.length || grads.length != m.length) {
      throw new IllegalArgumentException("optimizer state has " + m.length + " entries, params " + params.length
          + ", gradients " + grads.length);
    }
    step++;
    double c1 = 1 - Math.pow(BETA1, step);
    double c2 = 1 - Math.pow(BETA2, step);
    for (int i = 0; i < params.length; i++) {
      double g = grads[i];
      m[i] = (float) (BETA1 * m[i] + (1 - BETA1) * g);
      v[i] = (float) (BETA2 * v[i] + (1 - BETA2) * g * g);
      double p = params[i];
      double lr = i < split ? learningRate : splitLearningRate;
      if (i < split) {
        p -= lr * weightDecay * p; // decoupled decay
      }
      params[i] = (float) (p - lr * (m[i] / c1) / (Math.sqrt(v[i] / c2) + EPSILON));
    }
  }
}
