package io.sparsetrain.jobs.sparsify;

import io.sparsetrain.dataprep.BatchOptions;
import io.sparsetrain.dataprep.InputFormat;
import io.sparsetrain.dataprep.ParquetDataSets;
import io.sparsetrain.dataprep.PrepJob;
import io.sparsetrain.dataprep.PrepOptions;
import io.sparsetrain.dataprep.Preset;
import io.sparsetrain.sparkconf.SharedSparkSession;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Real Fashion-MNIST, small: the first {@value #TRAIN} training and {@value #TEST} test images of the Debian
 * dataset package, prepared into Parquet shards by the real prep job, and a small stock DL4J CNN (conv / BN /
 * pool / conv / pool / dense / softmax) trained on them in this JVM and saved as a model zip. Created once per JVM.
 */
public final class SparsifyFixtures {
  static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");
  public static final int TRAIN = 768;
  public static final int TEST = 400;
  private static Path root;

  private SparsifyFixtures() {}

  public static SparkSession spark() {
    return SharedSparkSession.session();
  }

  public static synchronized Path root() {
    if (root == null) {
      try {
        Path r = Files.createTempDirectory("sparsetrain-sparsify");
        Path idx = r.resolve("idx");
        Files.createDirectories(idx);
        subset("train", TRAIN, idx);
        subset("t10k", TEST, idx);
        PrepJob.run(spark(), PrepOptions.builder().format(InputFormat.IDX).input(idx.toString())
            .output(r.resolve("dataset").toString()).shards(4).preset(Preset.FASHION_MNIST).build(), line -> { });
        ComputationGraph g = train(r.resolve("dataset"), 12345, 4);
        ModelSerializer.writeModel(g, r.resolve("model.zip").toFile(), false);
        root = r;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return root;
  }

  public static Path dataset() {
    return root().resolve("dataset");
  }

  public static Path model() {
    return root().resolve("model.zip");
  }

  /** The first n images and labels of an IDX pair, uncompressed. */
  private static void subset(String prefix, int n, Path dir) throws IOException {
    for (String kind : new String[] {"images-idx3", "labels-idx1"}) {
      Path src = FASHION.resolve(prefix + "-" + kind + "-ubyte.gz");
      if (!Files.exists(src)) {
        throw new IllegalStateException(src + " is missing: install Debian's dataset-fashion-mnist");
      }
      try (DataInputStream in = new DataInputStream(new GZIPInputStream(Files.newInputStream(src)));
           DataOutputStream out = new DataOutputStream(Files.newOutputStream(dir.resolve(prefix + "-" + kind + "-ubyte")))) {
        int magic = in.readInt();
        in.readInt();
        out.writeInt(magic);
        out.writeInt(n);
        int itemBytes = 1;
        if (kind.startsWith("images")) {
          int h = in.readInt();
          int w = in.readInt();
          out.writeInt(h);
          out.writeInt(w);
          itemBytes = h * w;
        }
        copy(in, out, (long) n * itemBytes);
      }
    }
  }

  private static void copy(InputStream in, OutputStream out, long bytes) throws IOException {
    byte[] buf = new byte[8192];
    while (bytes > 0) {
      int r = in.read(buf, 0, (int) Math.min(buf.length, bytes));
      if (r < 0) {
        throw new IOException("IDX file ends early");
      }
      out.write(buf, 0, r);
      bytes -= r;
    }
  }

  static ComputationGraph untrained(long seed) {
    ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.FLOAT)
        .weightInit(WeightInit.RELU).updater(new Adam(3e-3)).graphBuilder().addInputs("input")
        .addLayer("conv1", new ConvolutionLayer.Builder(3, 3).nOut(8).padding(1, 1)
            .convolutionMode(ConvolutionMode.Truncate).activation(Activation.IDENTITY).build(), "input")
        .addLayer("bn1", new BatchNormalization.Builder().build(), "conv1")
        .addLayer("relu1", new ActivationLayer(Activation.RELU), "bn1")
        .addLayer("pool1", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build(), "relu1")
        .addLayer("conv2", new ConvolutionLayer.Builder(3, 3).nOut(16).padding(1, 1)
            .convolutionMode(ConvolutionMode.Truncate).activation(Activation.RELU).build(), "pool1")
        .addLayer("pool2", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build(), "conv2")
        .addLayer("fc1", new DenseLayer.Builder().nOut(32).activation(Activation.RELU).build(), "pool2")
        .addLayer("output", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10)
            .activation(Activation.SOFTMAX).build(), "fc1")
        .setOutputs("output").setInputTypes(InputType.convolutional(28, 28, 1)).build();
    ComputationGraph g = new ComputationGraph(conf);
    g.init();
    return g;
  }

  /** The stock CNN trained for {@code epochs} on the fixture's train split (unit-normalised pixels). */
  static ComputationGraph train(Path dataset, long seed, int epochs) {
    ComputationGraph g = untrained(seed);
    java.util.List<DataSet> batches = new java.util.ArrayList<>();
    ParquetDataSets.localIterator(dataset.toString(), "train", BatchOptions.builder().batchSize(32)
        .normalization(BatchOptions.Normalization.UNIT).build(), new Configuration()).forEachRemaining(batches::add);
    for (int e = 0; e < epochs; e++) {
      for (DataSet d : batches) {
        g.fit(d);
      }
    }
    return g;
  }
}
