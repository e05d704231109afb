package io.sparsetrain.jobs.train.model;

import io.sparsetrain.jobs.train.config.TrainConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Creates the network of a run: from a model builder (LeNet-5, ResNet-20, a tiny CNN for tests) for a dataset's
 * image shape and class count, or from a user's DL4J model zip / JSON configuration (ComputationGraph or
 * MultiLayerNetwork). The optimizer of the configuration is applied to every layer in all cases.
 *
 * <p>The builders use stock DL4J layers; masks are enforced by the train job (driver and worker listeners).
 * When {@code io.sparsetrain.nn} ships its masked-layer builders, they replace these.
 */
public final class ModelFactory {
  private ModelFactory() {}

  /** The configured optimizer as a DL4J updater at the base learning rate. */
  public static IUpdater updater(TrainConfig c) {
    switch (c.optimizer()) {
      case SGD:
        return new Sgd(c.learningRate());
      case NESTEROV:
        return new Nesterovs(c.learningRate(), c.momentum());
      default:
        return new Adam(c.learningRate());
    }
  }

  /**
   * A freshly initialised network (seeded with {@code train.seed}).
   *
   * @param channels image channels, height, width of the dataset; numClasses its class count
   */
  public static ComputationGraph create(TrainConfig c, int channels, int height, int width, int numClasses,
      Configuration hadoopConf) {
    ComputationGraph g;
    switch (c.modelSource()) {
      case BUILDER:
        ComputationGraphConfiguration conf = builder(c, channels, height, width, numClasses);
        g = new ComputationGraph(conf);
        g.init();
        return g;
      case ZIP:
        g = loadZip(c.modelPath(), hadoopConf);
        break;
      default:
        g = loadJson(c.modelPath(), hadoopConf, c.seed());
        break;
    }
    FineTuneConfiguration ft = new FineTuneConfiguration.Builder().updater(updater(c)).seed(c.seed())
        .l2(c.weightDecay()).build();
    return new TransferLearning.GraphBuilder(g).fineTuneConfiguration(ft).build();
  }

  static ComputationGraphConfiguration builder(TrainConfig c, int channels, int h, int w, int numClasses) {
    NeuralNetConfiguration.Builder base = new NeuralNetConfiguration.Builder().seed(c.seed())
        .updater(updater(c)).weightInit(WeightInit.RELU).l2(c.weightDecay())
        .convolutionMode(ConvolutionMode.Same);
    switch (c.modelBuilder()) {
      case "tiny-cnn":
        return base.graphBuilder().addInputs("input")
            .addLayer("conv1", new ConvolutionLayer.Builder(3, 3).nOut(4).activation(Activation.RELU).build(), "input")
            .addLayer("pool1", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build(),
                "conv1")
            .addLayer("conv2", new ConvolutionLayer.Builder(3, 3).nOut(8).activation(Activation.RELU).build(), "pool1")
            .addLayer("pool2", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build(),
                "conv2")
            .addLayer("fc1", new DenseLayer.Builder().nOut(16).activation(Activation.RELU).build(), "pool2")
            .addLayer("output", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(numClasses)
                .activation(Activation.SOFTMAX).build(), "fc1")
            .setOutputs("output").setInputTypes(InputType.convolutional(h, w, channels)).build();
      case "lenet5":
        return base.graphBuilder().addInputs("input")
            .addLayer("conv1", new ConvolutionLayer.Builder(5, 5).nOut(6).activation(Activation.RELU).build(), "input")
            .addLayer("pool1", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build(),
                "conv1")
            .addLayer("conv2", new ConvolutionLayer.Builder(5, 5).nOut(16).activation(Activation.RELU)
                .convolutionMode(ConvolutionMode.Truncate).build(), "pool1")
            .addLayer("pool2", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build(),
                "conv2")
            .addLayer("fc1", new DenseLayer.Builder().nOut(120).activation(Activation.RELU).build(), "pool2")
            .addLayer("fc2", new DenseLayer.Builder().nOut(84).activation(Activation.RELU).build(), "fc1")
            .addLayer("output", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(numClasses)
                .activation(Activation.SOFTMAX).build(), "fc2")
            .setOutputs("output").setInputTypes(InputType.convolutional(h, w, channels)).build();
      case "resnet20":
        return resnet20(base, channels, h, w, numClasses);
      default:
        throw new IllegalArgumentException("unknown model builder " + c.modelBuilder());
    }
  }

  /** ResNet-20 for small images (He et al. 2016, CIFAR variant: 3 stages of 3 basic blocks, 16/32/64 channels). */
  static ComputationGraphConfiguration resnet20(NeuralNetConfiguration.Builder base, int channels, int h, int w,
      int numClasses) {
    ComputationGraphConfiguration.GraphBuilder g = base.graphBuilder().addInputs("input")
        .addLayer("conv1", new ConvolutionLayer.Builder(3, 3).nOut(16).hasBias(false)
            .activation(Activation.IDENTITY).build(), "input")
        .addLayer("bn1", new BatchNormalization.Builder().build(), "conv1")
        .addLayer("relu1", new ActivationLayer.Builder().activation(Activation.RELU).build(), "bn1");
    String in = "relu1";
    int[] widths = {16, 32, 64};
    for (int stage = 0; stage < 3; stage++) {
      for (int block = 0; block < 3; block++) {
        String p = "s" + (stage + 1) + "b" + (block + 1);
        int stride = (stage > 0 && block == 0) ? 2 : 1;
        int nOut = widths[stage];
        g.addLayer(p + "_conv1", new ConvolutionLayer.Builder(3, 3).stride(stride, stride).nOut(nOut)
                .hasBias(false).activation(Activation.IDENTITY).build(), in)
            .addLayer(p + "_bn1", new BatchNormalization.Builder().build(), p + "_conv1")
            .addLayer(p + "_relu1", new ActivationLayer.Builder().activation(Activation.RELU).build(), p + "_bn1")
            .addLayer(p + "_conv2", new ConvolutionLayer.Builder(3, 3).nOut(nOut).hasBias(false)
                .activation(Activation.IDENTITY).build(), p + "_relu1")
            .addLayer(p + "_bn2", new BatchNormalization.Builder().build(), p + "_conv2");
        String shortcut = in;
        if (stride != 1) {
          g.addLayer(p + "_down", new ConvolutionLayer.Builder(1, 1).stride(stride, stride).nOut(nOut)
                  .hasBias(false).activation(Activation.IDENTITY).build(), in)
              .addLayer(p + "_down_bn", new BatchNormalization.Builder().build(), p + "_down");
          shortcut = p + "_down_bn";
        }
        g.addVertex(p + "_add", new ElementWiseVertex(ElementWiseVertex.Op.Add), p + "_bn2", shortcut)
            .addLayer(p + "_relu2", new ActivationLayer.Builder().activation(Activation.RELU).build(), p + "_add");
        in = p + "_relu2";
      }
    }
    return g.addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), in)
        .addLayer("output", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(numClasses)
            .activation(Activation.SOFTMAX).build(), "pool")
        .setOutputs("output").setInputTypes(InputType.convolutional(h, w, channels)).build();
  }

  /** Reads a DL4J model zip (ComputationGraph or MultiLayerNetwork) with its updater state. */
  public static ComputationGraph loadZip(String path, Configuration hadoopConf) {
    Path p = new Path(path);
    try (InputStream in = open(p, hadoopConf)) {
      byte[] bytes = in.readAllBytes();
      try {
        return ModelSerializer.restoreComputationGraph(new java.io.ByteArrayInputStream(bytes), true);
      } catch (Exception notGraph) {
        MultiLayerNetwork mln = ModelSerializer.restoreMultiLayerNetwork(new java.io.ByteArrayInputStream(bytes), true);
        return mln.toComputationGraph();
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("train.model.path: cannot read DL4J model zip " + path + ": " + e.getMessage(), e);
    }
  }

  /** Reads a DL4J ComputationGraph or MultiLayerNetwork configuration (JSON) and initialises it with the seed. */
  public static ComputationGraph loadJson(String path, Configuration hadoopConf, long seed) {
    Path p = new Path(path);
    String json;
    try (InputStream in = open(p, hadoopConf)) {
      json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalArgumentException("train.model.path: cannot read " + path + ": " + e.getMessage(), e);
    }
    try {
      ComputationGraphConfiguration conf = ComputationGraphConfiguration.fromJson(json);
      ComputationGraph g = new ComputationGraph(conf);
      g.init();
      return g;
    } catch (RuntimeException notGraph) {
      try {
        MultiLayerConfiguration conf = MultiLayerConfiguration.fromJson(json);
        MultiLayerNetwork mln = new MultiLayerNetwork(conf);
        mln.init();
        return mln.toComputationGraph();
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("train.model.path: " + path
            + " is neither a DL4J ComputationGraph nor a MultiLayerNetwork configuration: " + e.getMessage(), e);
      }
    }
  }

  private static InputStream open(Path p, Configuration conf) throws IOException {
    FileSystem fs = p.getFileSystem(conf);
    if (!fs.exists(p)) {
      throw new IOException("no such file");
    }
    return fs.open(p);
  }
}
