package io.sparsetrain.nn;

import static io.sparsetrain.nn.NnTestNets.random;
import static io.sparsetrain.nn.NnTestNets.sparseConv;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.nn.layers.FastBatchNormalization;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

class BnRecalibrationTest {

  private static ComputationGraph net(Layer bn1, Layer bn2) {
    ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.FLOAT)
        .weightInit(WeightInit.XAVIER).updater(new Sgd(0.1)).graphBuilder().addInputs("in")
        .addLayer("c1", sparseConv(3, 4, 3, 1, 1, Activation.IDENTITY), "in")
        .addLayer("bn1", bn1, "c1")
        .addLayer("c2", sparseConv(4, 5, 3, 1, 1, Activation.RELU), "bn1")
        .addLayer("bn2", bn2, "c2")
        .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "bn2")
        .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3)
            .activation(Activation.SOFTMAX).build(), "pool")
        .setOutputs("out").setInputTypes(InputType.convolutional(6, 6, 3)).build();
    ComputationGraph g = new ComputationGraph(conf);
    g.init();
    return g;
  }

  private static List<DataSet> batches(int count, int size) {
    List<DataSet> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      // shifted and scaled so that the statistics are far from the initial mean 0 / var 1
      INDArray x = random(100 + i, size, 3, 6, 6).muli(2).addi(0.7);
      out.add(new DataSet(x, Nd4j.zeros(DataType.FLOAT, size, 3)));
    }
    return out;
  }

  /** Per-channel [mean..., biased var...] of NCHW activations. */
  private static double[] stats(INDArray a) {
    int c = (int) a.size(1);
    double[] s = new double[2 * c];
    INDArray perChannel = a.permute(1, 0, 2, 3).dup('c').reshape(c, -1).castTo(DataType.DOUBLE);
    for (int k = 0; k < c; k++) {
      INDArray row = perChannel.getRow(k);
      double m = row.meanNumber().doubleValue();
      s[k] = m;
      s[c + k] = row.sub(m).muli(row.sub(m)).meanNumber().doubleValue();
    }
    return s;
  }

  @Test
  void runningStatisticsBecomeTheImageWeightedAverageOfMinibatchStatistics() {
    ComputationGraph g = net(new FastBatchNormalization.Builder().build(), new FastBatchNormalization.Builder().build());
    ComputationGraph reference = g.clone();
    Map<String, INDArray> before = new java.util.HashMap<>();
    g.paramTable().forEach((k, v) -> before.put(k, v.dup('c')));
    List<DataSet> data = batches(5, 16); // 80 images; the budget of 72 cuts the last minibatch to 8
    long used = BnRecalibration.recalibrate(g, data.iterator(), 72);
    assertEquals(72, used);

    // expected: training-mode activations at each BN input, minibatch by minibatch, weighted by images
    double[][] want = new double[2][];
    String[] inputs = {"c1", "c2"};
    long[] sizes = {16, 16, 16, 16, 8};
    for (int b = 0; b < 5; b++) {
      INDArray x = data.get(b).getFeatures();
      if (sizes[b] < 16) {
        x = x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, sizes[b]),
            org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.all(),
            org.nd4j.linalg.indexing.NDArrayIndex.all());
      }
      Map<String, INDArray> acts = reference.feedForward(x, true);
      for (int l = 0; l < 2; l++) {
        double[] s = stats(acts.get(inputs[l]));
        if (want[l] == null) {
          want[l] = new double[s.length];
        }
        for (int k = 0; k < s.length; k++) {
          want[l][k] += s[k] * sizes[b] / 72.0;
        }
      }
    }
    String[] bns = {"bn1", "bn2"};
    for (int l = 0; l < 2; l++) {
      double[] mean = g.getParam(bns[l] + "_mean").castTo(DataType.DOUBLE).toDoubleVector();
      double[] var = g.getParam(bns[l] + "_var").castTo(DataType.DOUBLE).toDoubleVector();
      int c = mean.length;
      for (int k = 0; k < c; k++) {
        assertEquals(want[l][k], mean[k], 1e-4 * Math.max(1, Math.abs(want[l][k])), bns[l] + " mean " + k);
        assertEquals(want[l][c + k], var[k], 1e-4 * Math.max(1, want[l][c + k]), bns[l] + " var " + k);
      }
      assertTrue(Math.abs(mean[0]) > 1e-3 || Math.abs(var[0] - 1) > 1e-3, "statistics moved from the initial 0/1");
    }
    // nothing but the running statistics changed, and the layer settings are restored
    for (Map.Entry<String, INDArray> e : before.entrySet()) {
      if (!e.getKey().endsWith("_mean") && !e.getKey().endsWith("_var")) {
        assertArrayEquals(e.getValue().dup('c').data().asFloat(), g.getParam(e.getKey()).dup('c').data().asFloat(),
            e.getKey());
      }
    }
    FastBatchNormalization conf = (FastBatchNormalization) g.getLayer("bn1").conf().getLayer();
    assertEquals(0.9, conf.getDecay(), 1e-12);
  }

  @Test
  void refusesStockBatchNormalizationAndEmptyData() {
    ComputationGraph stock = net(new BatchNormalization.Builder().build(), new FastBatchNormalization.Builder().build());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> BnRecalibration.recalibrate(stock, batches(1, 4).iterator(), 4));
    assertTrue(e.getMessage().contains("bn1"), e.getMessage());
    ComputationGraph ours = net(new FastBatchNormalization.Builder().build(), new FastBatchNormalization.Builder().build());
    assertThrows(IllegalArgumentException.class,
        () -> BnRecalibration.recalibrate(ours, new ArrayList<DataSet>().iterator(), 4));
  }
}
