package io.sparsetrain.jobs.evaluate;

import io.sparsetrain.nn.layers.FastBatchNormalization;
import io.sparsetrain.nn.layers.SparseConvolution;
import io.sparsetrain.nn.layers.SparseDense;
import java.util.Random;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** Small networks built directly for the evaluate tests. */
final class EvalNets {
  private EvalNets() {}

  /**
   * A residual network with both batch normalizations (sparsetrain's and DL4J's), built on sparse layers:
   * conv-BN-relu, a residual block (conv-BN-relu + identity, Add), 2x2 max pooling, a sparse dense layer, softmax.
   * BN statistics are set to random non-trivial values so that inference and training forms differ.
   */
  static ComputationGraph residualBn(int size, int classes, long seed) {
    return residualBn(size, classes, seed, 4);
  }

  /** As {@link #residualBn(int, int, long)} with {@code channels} filters per convolution (1: what STR-BN can leave). */
  static ComputationGraph residualBn(int size, int classes, long seed, int channels) {
    ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.FLOAT)
        .weightInit(WeightInit.RELU).updater(new Adam(1e-3)).graphBuilder().addInputs("input")
        .addLayer("conv1", new SparseConvolution.Builder(3, 3).nOut(channels).padding(1, 1)
            .convolutionMode(ConvolutionMode.Truncate).hasBias(false).activation(Activation.IDENTITY).build(), "input")
        .addLayer("bn1", new FastBatchNormalization.Builder().build(), "conv1")
        .addLayer("relu1", new ActivationLayer(Activation.RELU), "bn1")
        .addLayer("conv2", new SparseConvolution.Builder(3, 3).nOut(channels).padding(1, 1)
            .convolutionMode(ConvolutionMode.Truncate).hasBias(false).activation(Activation.IDENTITY).build(), "relu1")
        .addLayer("bn2", new BatchNormalization.Builder().build(), "conv2")
        .addLayer("relu2", new ActivationLayer(Activation.RELU), "bn2")
        .addVertex("add", new ElementWiseVertex(ElementWiseVertex.Op.Add), "relu1", "relu2")
        .addLayer("pool", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build(), "add")
        .addLayer("fc1", new SparseDense.Builder().nOut(16).activation(Activation.RELU).build(), "pool")
        .addLayer("output", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(classes)
            .activation(Activation.SOFTMAX).build(), "fc1")
        .setOutputs("output").setInputTypes(InputType.convolutional(size, size, 1)).build();
    ComputationGraph g = new ComputationGraph(conf);
    g.init();
    Random r = new Random(seed);
    for (String bn : new String[] {"bn1", "bn2"}) {
      Layer l = g.getLayer(bn);
      l.paramTable().forEach((k, v) -> {
        float[] vals = new float[(int) v.length()];
        for (int i = 0; i < vals.length; i++) {
          vals[i] = switch (k) {
            case "gamma" -> 0.5f + r.nextFloat();
            case "beta", "mean" -> (r.nextFloat() - 0.5f) * 0.4f;
            case "var" -> 0.3f + r.nextFloat();
            default -> (float) Math.log10(0.6 + r.nextFloat()); // log10stdev
          };
        }
        v.assign(Nd4j.createFromArray(vals).reshape(v.shape()));
      });
    }
    return g;
  }

  /** Uniform [0, 1) images [n, 1, size, size], seeded. */
  static INDArray images(int n, int size, long seed) {
    Nd4j.getRandom().setSeed(seed);
    return Nd4j.rand(DataType.FLOAT, n, 1, size, size);
  }

  /** One-hot labels. */
  static INDArray oneHot(int[] labels, int classes) {
    INDArray y = Nd4j.zeros(DataType.FLOAT, labels.length, classes);
    for (int i = 0; i < labels.length; i++) {
      y.putScalar(i, labels[i], 1f);
    }
    return y;
  }
}
