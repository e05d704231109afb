package io.sparsetrain.jobs.evaluate;

import java.io.Serializable;

/**
 * What evaluating some examples counted (mergeable, so executors count their shards and the driver adds them up):
 * examples, top-1 / top-k hits, per-class totals and hits, FGSM hits per epsilon, certified examples per layer and
 * for all layers at once, and the wall time spent.
 */
final class EvalCounts implements Serializable {
  private static final long serialVersionUID = 1L;

  long examples;
  long top1;
  long topK;
  final long[] classTotal;
  final long[] classCorrect;
  final long[] fgsmCorrect;
  final long[] certifiedPerLayer;
  long certifiedAll;
  double seconds;

  EvalCounts(int classes, int eps, int layers) {
    classTotal = new long[classes];
    classCorrect = new long[classes];
    fgsmCorrect = new long[eps];
    certifiedPerLayer = new long[layers];
  }

  /** Adds {@code o} into this; returns this. */
  EvalCounts add(EvalCounts o) {
    examples += o.examples;
    top1 += o.top1;
    topK += o.topK;
    for (int i = 0; i < classTotal.length; i++) {
      classTotal[i] += o.classTotal[i];
      classCorrect[i] += o.classCorrect[i];
    }
    for (int i = 0; i < fgsmCorrect.length; i++) {
      fgsmCorrect[i] += o.fgsmCorrect[i];
    }
    for (int i = 0; i < certifiedPerLayer.length; i++) {
      certifiedPerLayer[i] += o.certifiedPerLayer[i];
    }
    certifiedAll += o.certifiedAll;
    seconds += o.seconds;
    return this;
  }

  static EvalCounts merge(EvalCounts a, EvalCounts b) {
    return a.add(b);
  }
}
