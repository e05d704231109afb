package io.sparsetrain.nn;

import io.sparsetrain.nn.layers.FastBatchNormalization;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Re-estimates the running statistics of every batch-normalization layer of a network whose weights changed
 * after training (pruned or masked), from unlabeled images: one training-mode forward pass per minibatch (each
 * layer normalizes with its minibatch's statistics, as in training), with the running mean and variance set to
 * the image-weighted average of the minibatch statistics over all passes (as PyTorch's {@code update_bn} does).
 * Nothing else changes: no weight, gamma or beta, and no mask.
 *
 * <p>Stale statistics are what makes a network pruned without retraining collapse: a layer whose weights lost
 * half their magnitude still normalizes with the dense layer's mean and variance. Recalibration is cheap (a few
 * thousand images forward) and applies to any mask, so comparisons between pruning methods should apply it to
 * all of them or to none.
 */
public final class BnRecalibration {
  private BnRecalibration() {}

  /**
   * Recalibrates {@code g} in place on up to {@code maxExamples} images of {@code data} (whole minibatches; the
   * last one is cut to fit) and returns how many images were used.
   *
   * @throws IllegalArgumentException if the network has a stock DL4J {@link BatchNormalization} layer (its
   *     statistics move in the backward pass, not in the forward pass used here), has no batch normalization at
   *     all, or {@code data} is empty
   */
  public static long recalibrate(ComputationGraph g, Iterator<DataSet> data, long maxExamples) {
    if (maxExamples <= 0) {
      throw new IllegalArgumentException("maxExamples must be > 0, got " + maxExamples);
    }
    List<FastBatchNormalization> bns = new ArrayList<>();
    for (Layer l : g.getLayers()) {
      Object c = l.conf().getLayer();
      if (c instanceof FastBatchNormalization f) {
        bns.add(f);
      } else if (c instanceof BatchNormalization b) {
        throw new IllegalArgumentException("layer " + b.getLayerName() + " is " + c.getClass().getSimpleName()
            + ": BN recalibration needs FastBatchNormalization (convert with SparseConversion.toSparse)");
      }
    }
    if (bns.isEmpty()) {
      throw new IllegalArgumentException("the network has no batch normalization layer to recalibrate");
    }
    double[] decay = new double[bns.size()];
    boolean[] frozen = new boolean[bns.size()];
    boolean[] minibatch = new boolean[bns.size()];
    for (int i = 0; i < bns.size(); i++) {
      decay[i] = bns.get(i).getDecay();
      frozen[i] = bns.get(i).isFrozenStatistics();
      minibatch[i] = bns.get(i).isMinibatch();
      bns.get(i).setFrozenStatistics(false);
      bns.get(i).setMinibatch(true);
    }
    long seen = 0;
    try {
      while (seen < maxExamples && data.hasNext()) {
        DataSet d = data.next();
        int n = d.numExamples();
        if (seen + n > maxExamples) {
          n = (int) (maxExamples - seen);
          d = (DataSet) d.getRange(0, n);
        }
        if (n == 0) {
          continue;
        }
        // stat = decay * stat + (1 - decay) * batchStat with decay = seen / (seen + n): the image-weighted
        // running average of minibatch statistics; the first minibatch replaces the stale statistics
        double w = (double) seen / (seen + n);
        for (FastBatchNormalization b : bns) {
          b.setDecay(w);
        }
        g.feedForward(d.getFeatures(), true);
        seen += n;
      }
    } finally {
      for (int i = 0; i < bns.size(); i++) {
        bns.get(i).setDecay(decay[i]);
        bns.get(i).setFrozenStatistics(frozen[i]);
        bns.get(i).setMinibatch(minibatch[i]);
      }
      g.clearLayersStates();
    }
    if (seen == 0) {
      throw new IllegalArgumentException("no images to recalibrate batch normalization with");
    }
    return seen;
  }
}
