package io.sparsetrain.jobs.train.model;

import io.sparsetrain.jobs.train.config.TrainConfig;
import io.sparsetrain.nn.convert.SparseConversion;
import io.sparsetrain.nn.layers.SparseConvolution;
import io.sparsetrain.nn.layers.SparseDense;
import io.sparsetrain.nn.models.ImageShape;
import io.sparsetrain.nn.models.LayerKind;
import io.sparsetrain.nn.models.LeNet5;
import io.sparsetrain.nn.models.ModelSpec;
import io.sparsetrain.nn.models.ResNets;
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
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
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
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Creates the network of a run: from a model builder of {@code io.sparsetrain.nn.models} (ResNet-20/32/56,
 * ResNet-18, LeNet-5; plus a tiny CNN for tests) for a dataset's image shape and class count, or from a user's
 * DL4J model zip / JSON configuration (ComputationGraph or MultiLayerNetwork). With
 * {@code train.model.layers = sparse} (the default) convolutions and hidden dense layers are sparsetrain sparse
 * layers (a user's model is converted with {@link SparseConversion#toSparse}, keeping its weights); with
 * {@code stock} they are DL4J's own layers (baseline). The optimizer of the configuration is applied to every
 * layer in all cases.
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

  /** The {@code nn.models} spec of a configuration for a dataset's image shape and class count. */
  public static ModelSpec spec(TrainConfig c, int channels, int height, int width, int numClasses) {
    return ModelSpec.builder().input(ImageShape.of(channels, height, width)).numClasses(numClasses)
        .layers(c.sparseLayers() ? LayerKind.SPARSE : LayerKind.STOCK).seed(c.seed()).updater(updater(c))
        .l2(c.weightDecay()).build();
  }

  /**
   * A freshly initialised network (seeded with {@code train.seed}), or the user's model (converted to sparse
   * layers unless {@code train.model.layers = stock}).
   *
   * @param channels image channels, height, width of the dataset; numClasses its class count
   */
  public static ComputationGraph create(TrainConfig c, int channels, int height, int width, int numClasses,
      Configuration hadoopConf) {
    ComputationGraph g;
    switch (c.modelSource()) {
      case BUILDER:
        return ResNets.init(builder(c, spec(c, channels, height, width, numClasses)));
      case ZIP:
        g = loadZip(c.modelPath(), hadoopConf);
        break;
      default:
        g = loadJson(c.modelPath(), hadoopConf, c.seed());
        break;
    }
    FineTuneConfiguration ft = new FineTuneConfiguration.Builder().updater(updater(c)).seed(c.seed())
        .l2(c.weightDecay()).build();
    g = new TransferLearning.GraphBuilder(g).fineTuneConfiguration(ft).build();
    return c.sparseLayers() ? SparseConversion.toSparse(g) : g;
  }

  /** The configuration of {@code train.model.builder}. */
  static ComputationGraphConfiguration builder(TrainConfig c, ModelSpec spec) {
    switch (c.modelBuilder()) {
      case "resnet20":
        return ResNets.cifar(20, spec);
      case "resnet32":
        return ResNets.cifar(32, spec);
      case "resnet56":
        return ResNets.cifar(56, spec);
      case "resnet18":
        return ResNets.imagenet(18, spec);
      case "lenet5":
        return LeNet5.configuration(spec);
      case "tiny-cnn":
        return tinyCnn(spec);
      default:
        throw new IllegalArgumentException("unknown model builder " + c.modelBuilder());
    }
  }

  /** Two 3x3 convolutions with max pooling, a 16-unit hidden dense layer and a softmax classifier (tests). */
  static ComputationGraphConfiguration tinyCnn(ModelSpec spec) {
    boolean sparse = spec.layers() == LayerKind.SPARSE;
    NeuralNetConfiguration.Builder base = new NeuralNetConfiguration.Builder().seed(spec.seed())
        .dataType(DataType.FLOAT).updater(spec.updater()).weightInit(WeightInit.RELU);
    if (spec.l2() > 0) {
      base.l2(spec.l2());
    }
    return base.graphBuilder().addInputs("input")
        .addLayer("conv1", conv(sparse, 4), "input")
        .addLayer("pool1", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build(),
            "conv1")
        .addLayer("conv2", conv(sparse, 8), "pool1")
        .addLayer("pool2", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build(),
            "conv2")
        .addLayer("fc1", sparse ? new SparseDense.Builder().nOut(16).activation(Activation.RELU).build()
            : new DenseLayer.Builder().nOut(16).activation(Activation.RELU).build(), "pool2")
        .addLayer("output", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(spec.numClasses())
            .activation(Activation.SOFTMAX).build(), "fc1")
        .setOutputs("output")
        .setInputTypes(InputType.convolutional(spec.input().height(), spec.input().width(), spec.input().channels()))
        .build();
  }

  private static org.deeplearning4j.nn.conf.layers.Layer conv(boolean sparse, int nOut) {
    return sparse
        ? new SparseConvolution.Builder(3, 3).nOut(nOut).padding(1, 1).convolutionMode(ConvolutionMode.Truncate)
            .activation(Activation.RELU).build()
        : new ConvolutionLayer.Builder(3, 3).nOut(nOut).padding(1, 1).convolutionMode(ConvolutionMode.Truncate)
            .activation(Activation.RELU).build();
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
