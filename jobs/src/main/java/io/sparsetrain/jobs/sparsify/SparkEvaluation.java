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

/** Top-1 and top-5 accuracy of a model (as zip bytes) on a split, computed on the executors. */
final class SparkEvaluation {
  private SparkEvaluation() {}

  /**
   * Accuracies in [0, 1] and the number of examples.
   *
   * @param top5 fraction whose label is among the 5 highest outputs (all of them with fewer than 5 classes)
   */
  record Accuracy(double top1, double top5, long examples) {}

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
        long correct5 = 0;
        long n = 0;
        while (it.hasNext()) {
          DataSet d = it.next();
          double[][] probs = g.outputSingle(false, d.getFeatures()).toDoubleMatrix();
          INDArray truth = d.getLabels().argMax(1);
          for (int i = 0; i < d.numExamples(); i++) {
            int label = (int) truth.getLong(i);
            double p = probs[i][label];
            // rank of the label: outputs strictly above it, ties counted against (argmax takes the first)
            int above = 0;
            for (int c = 0; c < probs[i].length; c++) {
              double q = probs[i][c];
              above += q > p || (q == p && c < label) ? 1 : 0;
            }
            correct += above == 0 ? 1 : 0;
            correct5 += above < 5 ? 1 : 0;
          }
          n += d.numExamples();
        }
        out.add(new long[] {correct, correct5, n});
        return out.iterator();
      }).collect();
      long correct = 0;
      long correct5 = 0;
      long n = 0;
      for (long[] p : parts) {
        correct += p[0];
        correct5 += p[1];
        n += p[2];
      }
      return new Accuracy(n > 0 ? correct / (double) n : Double.NaN, n > 0 ? correct5 / (double) n : Double.NaN, n);
    } finally {
      model.destroy();
    }
  }
}
