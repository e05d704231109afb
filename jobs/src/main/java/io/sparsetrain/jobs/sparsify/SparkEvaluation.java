package io.sparsetrain.jobs.sparsify;

import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/** Top-1 accuracy of a model (as zip bytes) on a split, computed on the executors. */
final class SparkEvaluation {
  private SparkEvaluation() {}

  /** Accuracy in [0, 1] and the number of examples. */
  record Accuracy(double top1, long examples) {}

  static Accuracy top1(JavaSparkContext sc, byte[] modelZip, JavaRDD<DataSet> test) {
    Broadcast<byte[]> model = sc.broadcast(modelZip);
    try {
      List<long[]> parts = test.mapPartitions(it -> {
        List<long[]> out = new ArrayList<>(1);
        if (!it.hasNext()) {
          return out.iterator();
        }
        ComputationGraph g = ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(model.value()), false);
        long correct = 0;
        long n = 0;
        while (it.hasNext()) {
          DataSet d = it.next();
          INDArray pred = g.outputSingle(false, d.getFeatures()).argMax(1);
          INDArray truth = d.getLabels().argMax(1);
          for (int i = 0; i < d.numExamples(); i++) {
            correct += pred.getLong(i) == truth.getLong(i) ? 1 : 0;
          }
          n += d.numExamples();
        }
        out.add(new long[] {correct, n});
        return out.iterator();
      }).collect();
      long correct = 0;
      long n = 0;
      for (long[] p : parts) {
        correct += p[0];
        n += p[1];
      }
      return new Accuracy(n > 0 ? correct / (double) n : Double.NaN, n);
    } finally {
      model.destroy();
    }
  }
}
