package io.sparsetrain.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.dataprep.BatchOptions;
import io.sparsetrain.dataprep.ParquetDataSets;
import io.sparsetrain.jobs.train.config.TrainConfig;
import io.sparsetrain.jobs.train.model.GraphPrunableModel;
import io.sparsetrain.jobs.train.model.MaskedNetworkModel;
import io.sparsetrain.jobs.train.model.ModelFactory;
import io.sparsetrain.jobs.train.model.PrunableModel;
import io.sparsetrain.jobs.train.pruning.DriverPruningControl;
import io.sparsetrain.jobs.train.spark.DistributedTrainer;
import io.sparsetrain.jobs.train.spark.Dl4jParameterAveragingTrainer;
import io.sparsetrain.jobs.train.spark.WorkerMasks;
import io.sparsetrain.kernels.NmFormat;
import io.sparsetrain.nn.MaskedNetwork;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskChecksum;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.nm.NmMagnitudePruner;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Workers keep masked weights at zero through an averaging round, fail loudly on a mask that is not the driver's,
 * and (sparse layers) run frozen N:M layers on the compressed kernels.
 */
class WorkerMaskTest {

  @TempDir
  Path tmp;

  private record Setup(PrunableModel model, MaskSet masks, Dl4jParameterAveragingTrainer trainer,
      JavaRDD<DataSet> data, DriverPruningControl control) {}

  private Setup setup(String layers, String pattern, double sparsity) {
    TrainConfig c = TrainFixtures.tinyConfig(tmp, "pruning.pattern=" + pattern, "model.layers=" + layers);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(TrainFixtures.spark().sparkContext());
    PrunableModel model = TrainJob.wrap(c, ModelFactory.create(c, 1, TrainFixtures.SIZE, TrainFixtures.SIZE, 10,
        jsc.hadoopConfiguration()), null, false);
    DriverPruningControl control = new DriverPruningControl(c, 5, model.classifierPrunable());
    MaskSet masks = control.controller().computeMasks(model.prunableLayers(), sparsity).masks();
    model.applyMasks(masks);
    Dl4jParameterAveragingTrainer trainer = new Dl4jParameterAveragingTrainer(jsc, model.graph(),
        new Dl4jParameterAveragingTrainer.Settings(2, 16, 2, 0, "always", "direct", tmp.resolve("export").toString(), 1));
    JavaRDD<DataSet> data = ParquetDataSets.dataSets(TrainFixtures.spark(), TrainFixtures.dataset().toString(), "train",
        BatchOptions.builder().batchSize(16).build());
    return new Setup(model, masks, trainer, data, control);
  }

  private static int assertMaskedWeightsZero(MaskSet masks, List<PrunableLayer> layers) {
    int checked = 0;
    for (PrunableLayer layer : layers) {
      if (!masks.contains(layer.name())) {
        continue;
      }
      Mask m = masks.get(layer.name());
      for (int i = 0; i < layer.size(); i++) {
        if (!m.isKept(i)) {
          float w = layer.weights()[i];
          assertTrue(w == 0f, "layer " + layer.name() + " weight " + i + " is " + w); // -0.0 counts as zero
          checked++;
        }
      }
    }
    return checked;
  }

  @Test
  void stockLayersKeepMaskedWeightsZeroThroughAnAveragingRound() {
    Setup s = setup("stock", "unstructured", 0.6);
    assertTrue(s.model() instanceof GraphPrunableModel);
    s.trainer().fitRound(s.data(), WorkerMasks.of(s.masks(), 0, false));
    // no driver re-masking here: the averaged parameters themselves must keep every masked weight at zero
    int checked = assertMaskedWeightsZero(s.masks(), new GraphPrunableModel(s.trainer().network()).prunableLayers());
    assertTrue(checked > 100, "checked " + checked + " masked weights");
    s.trainer().close();
  }

  @Test
  void sparseLayersKeepMaskedWeightsZeroThroughAnAveragingRound() {
    Setup s = setup("sparse", "unstructured", 0.6);
    assertTrue(s.model() instanceof MaskedNetworkModel);
    DistributedTrainer.RoundResult r = s.trainer().fitRound(s.data(), s.control().workerMasks(s.model(), 0));
    assertTrue(Double.isFinite(r.loss()));
    assertTrue(r.workerCompressedLayers().isEmpty(), "nothing is frozen yet: " + r.workerCompressedLayers());
    MaskedNetwork after = MaskedNetwork.of(s.trainer().network());
    assertEquals(s.masks(), after.masks(), "the masks came back unchanged in the averaged M parameters");
    int checked = assertMaskedWeightsZero(s.masks(), after.prunableLayers());
    assertTrue(checked > 100, "checked " + checked + " masked weights");
    s.trainer().close();
  }

  private static MaskSet flipOneBit(MaskSet masks, String layer) {
    Mask good = masks.get(layer);
    boolean[] keep = good.toKeepArray();
    keep[0] = !keep[0]; // one flipped bit
    MaskSet.Builder b = MaskSet.builder();
    for (String n : masks.names()) {
      b.put(n, n.equals(layer) ? Mask.fromKeep(good.shape(), keep) : masks.get(n));
    }
    return b.build();
  }

  @Test
  void aStockWorkerHoldingADifferentMaskFailsNamingTheLayerAndBothChecksums() {
    Setup s = setup("stock", "unstructured", 0.6);
    String layer = s.masks().names().iterator().next();
    MaskSet corrupted = flipOneBit(s.masks(), layer);
    Exception e = assertThrows(Exception.class,
        () -> s.trainer().fitRound(s.data(), WorkerMasks.withChecksumsOf(corrupted, s.masks(), 3, false)));
    String msg = String.valueOf(e.getMessage());
    assertTrue(msg.contains("mask checksum mismatch on worker for layer " + layer), msg);
    assertTrue(msg.contains("driver " + MaskChecksum.hex(MaskChecksum.of(s.masks().get(layer)))), msg);
    assertTrue(msg.contains("worker " + MaskChecksum.hex(MaskChecksum.of(corrupted.get(layer)))), msg);
    s.trainer().close();
  }

  @Test
  void aSparseWorkerWhoseMParameterDiffersFromTheDriverFailsNamingTheLayerAndBothChecksums() {
    Setup s = setup("sparse", "unstructured", 0.6);
    String layer = "conv2";
    MaskSet driver = flipOneBit(s.masks(), layer); // the driver announces a mask the workers' networks do not hold
    Exception e = assertThrows(Exception.class,
        () -> s.trainer().fitRound(s.data(), WorkerMasks.checksumsOf(driver, 3, false)));
    String msg = String.valueOf(e.getMessage());
    assertTrue(msg.contains("mask checksum mismatch on worker for layer " + layer), msg);
    assertTrue(msg.contains("driver " + MaskChecksum.hex(MaskChecksum.of(driver.get(layer)))), msg);
    assertTrue(msg.contains("worker " + MaskChecksum.hex(MaskChecksum.of(s.masks().get(layer)))), msg);
    s.trainer().close();
  }

  @Test
  void afterADriverFreezeOfTwoFourMasksTheWorkersRunTheLayersCompressed() {
    Setup s = setup("sparse", "nm", 0.5);
    MaskedNetworkModel model = (MaskedNetworkModel) s.model();
    model.freeze();
    List<String> driverCompressed = model.compressedLayers();
    assertFalse(driverCompressed.isEmpty(), "2:4 masks freeze onto the compressed kernels: " + model);
    for (String name : driverCompressed) {
      assertTrue(NmMagnitudePruner.satisfiesNm(model.masks().get(name), 2, 4), name);
    }
    DistributedTrainer.RoundResult r = s.trainer().fitRound(s.data(), s.control().workerMasks(model, 0));
    // recorded by the worker listener inside the Spark tasks, from the workers' own deserialized networks
    assertEquals(List.copyOf(new java.util.TreeSet<>(driverCompressed)), List.copyOf(r.workerCompressedLayers()));
    MaskedNetwork after = MaskedNetwork.of(s.trainer().network());
    assertTrue(after.isFrozen(), "the averaged network is still frozen");
    assertEquals(driverCompressed, after.compressedLayers());
    assertEquals(s.masks(), after.masks());
    assertMaskedWeightsZero(s.masks(), after.prunableLayers());
    assertEquals(NmFormat.TWO_FOUR, after.sparseLayers().get(driverCompressed.get(0)).frozenFormat());
    s.trainer().close();
  }
}
