package io.sparsetrain.jobs.train;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.dataprep.BatchOptions;
import io.sparsetrain.dataprep.ParquetDataSets;
import io.sparsetrain.jobs.train.config.TrainConfig;
import io.sparsetrain.jobs.train.model.GraphPrunableModel;
import io.sparsetrain.jobs.train.model.ModelFactory;
import io.sparsetrain.jobs.train.pruning.DriverPruningControl;
import io.sparsetrain.jobs.train.spark.Dl4jParameterAveragingTrainer;
import io.sparsetrain.jobs.train.spark.WorkerMasks;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskChecksum;
import io.sparsetrain.prune.MaskSet;
import java.nio.file.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;

/** Workers keep masked weights at zero through an averaging round, and fail loudly on a mask that is not the driver's. */
class WorkerMaskTest {

  @TempDir
  Path tmp;

  private record Setup(GraphPrunableModel model, MaskSet masks, Dl4jParameterAveragingTrainer trainer,
      JavaRDD<DataSet> data) {}

  private Setup setup() {
    TrainConfig c = TrainFixtures.tinyConfig(tmp, "pruning.pattern=unstructured");
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(TrainFixtures.spark().sparkContext());
    GraphPrunableModel model = new GraphPrunableModel(ModelFactory.create(c, 1, TrainFixtures.SIZE,
        TrainFixtures.SIZE, 10, jsc.hadoopConfiguration()));
    MaskSet masks = new DriverPruningControl(c, 5).controller().computeMasks(model.prunableLayers(), 0.6).masks();
    model.applyMasks(masks);
    Dl4jParameterAveragingTrainer trainer = new Dl4jParameterAveragingTrainer(jsc, model.graph(),
        new Dl4jParameterAveragingTrainer.Settings(2, 16, 2, 0, "always", "direct", tmp.resolve("export").toString(), 1));
    JavaRDD<DataSet> data = ParquetDataSets.dataSets(TrainFixtures.spark(), TrainFixtures.dataset().toString(), "train",
        BatchOptions.builder().batchSize(16).build());
    return new Setup(model, masks, trainer, data);
  }

  @Test
  void maskedWeightsStayZeroThroughAnAveragingRound() {
    Setup s = setup();
    s.trainer().fitRound(s.data(), WorkerMasks.of(s.masks(), 0, false));
    // no driver re-masking here: the averaged parameters themselves must keep every masked weight at zero
    GraphPrunableModel after = new GraphPrunableModel(s.trainer().network());
    int checked = 0;
    for (var layer : after.prunableLayers()) {
      if (!s.masks().contains(layer.name())) {
        continue;
      }
      Mask m = s.masks().get(layer.name());
      for (int i = 0; i < layer.size(); i++) {
        if (!m.isKept(i)) {
          float w = layer.weights()[i];
          assertTrue(w == 0f, "layer " + layer.name() + " weight " + i + " is " + w); // -0.0 counts as zero
          checked++;
        }
      }
    }
    assertTrue(checked > 100, "checked " + checked + " masked weights");
    s.trainer().close();
  }

  @Test
  void aWorkerHoldingADifferentMaskFailsNamingTheLayerAndBothChecksums() {
    Setup s = setup();
    String layer = s.masks().names().iterator().next();
    Mask good = s.masks().get(layer);
    boolean[] keep = good.toKeepArray();
    keep[0] = !keep[0]; // one flipped bit on the worker side
    Mask bad = Mask.fromKeep(good.shape(), keep);
    MaskSet.Builder b = MaskSet.builder();
    for (String n : s.masks().names()) {
      b.put(n, n.equals(layer) ? bad : s.masks().get(n));
    }
    MaskSet corrupted = b.build();
    Exception e = assertThrows(Exception.class,
        () -> s.trainer().fitRound(s.data(), WorkerMasks.withChecksumsOf(corrupted, s.masks(), 3, false)));
    String msg = String.valueOf(e.getMessage());
    assertTrue(msg.contains("mask checksum mismatch on worker for layer " + layer), msg);
    assertTrue(msg.contains("driver " + MaskChecksum.hex(MaskChecksum.of(good))), msg);
    assertTrue(msg.contains("worker " + MaskChecksum.hex(MaskChecksum.of(bad))), msg);
    s.trainer().close();
  }
}
