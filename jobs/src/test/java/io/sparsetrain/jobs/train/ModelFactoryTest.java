package io.sparsetrain.jobs.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.jobs.train.config.TrainConfig;
import io.sparsetrain.jobs.train.model.GraphPrunableModel;
import io.sparsetrain.jobs.train.model.MaskedNetworkModel;
import io.sparsetrain.jobs.train.model.ModelFactory;
import io.sparsetrain.jobs.train.model.PrunableModel;
import io.sparsetrain.nn.layers.SparseLayer;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The train job builds nn.models networks on sparse (or stock) layers and converts a user's model keeping weights. */
class ModelFactoryTest {

  @TempDir
  Path tmp;

  private static TrainConfig config(String... sets) {
    List<String> all = new java.util.ArrayList<>(List.of("data.path=/d", "output.dir=/o"));
    all.addAll(List.of(sets));
    return TrainConfig.load(null, all);
  }

  @ParameterizedTest
  @ValueSource(strings = {"resnet20", "resnet32", "resnet56", "resnet18", "lenet5", "tiny-cnn"})
  void everyBuilderBuildsOnSparseLayers(String builder) {
    TrainConfig c = config("model.builder=" + builder);
    ComputationGraph g = ModelFactory.create(c, 1, 28, 28, 10, new Configuration());
    PrunableModel m = TrainJob.wrap(c, g, null, false);
    assertTrue(m instanceof MaskedNetworkModel, builder);
    assertTrue(m.prunableLayers().size() >= 3, builder + ": " + m.prunableLayers().size() + " sparse layers");
    assertTrue(m.masksInParameters());
    assertFalse(m.classifierPrunable(), "the classifier is a stock OutputLayer");
    assertEquals(0, m.masks().names().stream().mapToLong(n -> m.masks().get(n).zeroCount()).sum(), "all-ones masks");
    INDArray out = g.outputSingle(Nd4j.rand(DataType.FLOAT, 2, 1, 28, 28));
    assertArrayEquals(new long[] {2, 10}, out.shape());
  }

  @Test
  void stockLayersGiveTheStockBaseline() {
    TrainConfig c = config("model.builder=resnet20", "model.layers=stock");
    ComputationGraph g = ModelFactory.create(c, 1, 28, 28, 10, new Configuration());
    assertFalse(MaskedNetworkModel.isSparse(g));
    PrunableModel m = TrainJob.wrap(c, g, null, false);
    assertTrue(m instanceof GraphPrunableModel);
    assertFalse(m.masksInParameters());
    assertEquals(22, m.prunableLayers().size(), "19 convs + 2 projections + classifier");
  }

  @Test
  void aUsersStockModelZipIsConvertedToSparseLayersKeepingItsWeights() throws Exception {
    ComputationGraph stock = ModelFactory.create(config("model.builder=tiny-cnn", "model.layers=stock"), 1, 12, 12,
        10, new Configuration());
    assertFalse(MaskedNetworkModel.isSparse(stock));
    Path zip = tmp.resolve("user-model.zip");
    ModelSerializer.writeModel(stock, zip.toFile(), true);
    TrainConfig c = config("model.source=zip", "model.path=\"" + zip + "\"");
    ComputationGraph sparse = ModelFactory.create(c, 1, 12, 12, 10, new Configuration());
    assertTrue(sparse.getLayer("conv1") instanceof SparseLayer);
    assertTrue(sparse.getLayer("fc1") instanceof SparseLayer);
    for (String name : List.of("conv1", "conv2", "fc1", "output")) {
      assertEquals(stock.getLayer(name).getParam("W"), sparse.getLayer(name).getParam("W"), name + " W kept");
    }
    INDArray x = Nd4j.rand(DataType.FLOAT, 3, 1, 12, 12);
    INDArray a = stock.outputSingle(x);
    INDArray b = sparse.outputSingle(x);
    assertTrue(a.equalsWithEps(b, 1e-4), "same function: " + a + " vs " + b);
    assertEquals(3, TrainJob.wrap(c, sparse, null, false).prunableLayers().size());
  }

  @Test
  void subsetsKeepWholeLeadingMinibatches() {
    assertEquals(2, TrainJob.batchesWithin(List.of(32, 32, 32), 64));
    assertEquals(2, TrainJob.batchesWithin(List.of(32, 32, 32), 95));
    assertEquals(1, TrainJob.batchesWithin(List.of(32, 32), 10), "at least one minibatch");
    assertEquals(3, TrainJob.batchesWithin(List.of(32, 20, 32), 1000));
  }
}
