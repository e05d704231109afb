package io.sparsetrain.jobs.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sparsetrain.jobs.train.checkpoint.CheckpointStore;
import io.sparsetrain.jobs.train.model.ModelFactory;
import io.sparsetrain.jobs.train.spark.Dl4jParameterAveragingTrainer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipFile;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Averaging rounds do not depend on scheduling: the round's minibatches are dealt to the workers in a fixed order,
 * and the workers' results are added in partition order (not task completion order). With three workers on
 * local[2], task completion order varies from run to run, and float addition of three vectors is order-dependent;
 * two runs of the same configuration must still end bit-identical.
 */
class DeterministicRoundsTest {

  @TempDir
  Path tmp;

  @Test
  void minibatchesAreDealtRoundRobinInRddOrderWhateverThePartitioning() {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(TrainFixtures.spark().sparkContext());
    List<DataSet> batches = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      batches.add(new DataSet(Nd4j.scalar((float) i).reshape(1, 1), Nd4j.ones(1, 1)));
    }
    JavaRDD<DataSet> chunk = jsc.parallelize(batches, 3);
    ComputationGraph g = ModelFactory.create(TrainFixtures.tinyConfig(tmp.resolve("out")), 1, TrainFixtures.SIZE,
        TrainFixtures.SIZE, 10, jsc.hadoopConfiguration());
    Dl4jParameterAveragingTrainer trainer = new Dl4jParameterAveragingTrainer(jsc, g,
        new Dl4jParameterAveragingTrainer.Settings(4, 1, 1, 0, "always", "direct", tmp.resolve("export").toString(), 1));
    List<List<DataSet>> parts = trainer.dealToWorkers(chunk).glom().collect();
    assertEquals(4, parts.size());
    for (int k = 0; k < 4; k++) {
      List<Integer> ids = new ArrayList<>();
      for (DataSet d : parts.get(k)) {
        ids.add((int) d.getFeatures().getFloat(0));
      }
      List<Integer> expected = new ArrayList<>();
      for (int i = k; i < 10; i += 4) {
        expected.add(i);
      }
      assertEquals(expected, ids, "worker " + k);
    }
    trainer.close();
  }

  @Test
  void threeWorkerRunsOfTheSameConfigurationEndBitIdentical() throws Exception {
    List<String> linesA = new ArrayList<>();
    List<String> linesB = new ArrayList<>();
    TrainJob.Result a = TrainJob.run(TrainFixtures.spark(), TrainFixtures.tinyConfig(tmp.resolve("a"),
        "epochs=2", "cluster.workers=3", "schedule.start-epoch=0", "schedule.length-epochs=1"), false, linesA::add);
    TrainJob.Result b = TrainJob.run(TrainFixtures.spark(), TrainFixtures.tinyConfig(tmp.resolve("b"),
        "epochs=2", "cluster.workers=3", "schedule.start-epoch=0", "schedule.length-epochs=1"), false, linesB::add);
    assertEquals(a.masks(), b.masks());
    assertEquals(a.state().step, b.state().step);
    assertArrayEquals(entry(tmp.resolve("a"), "coefficients.bin"), entry(tmp.resolve("b"), "coefficients.bin"),
        "parameters");
    assertArrayEquals(entry(tmp.resolve("a"), "updaterState.bin"), entry(tmp.resolve("b"), "updaterState.bin"),
        "optimizer state");
    List<String> lossesA = new ArrayList<>();
    List<String> lossesB = new ArrayList<>();
    for (String l : linesA) {
      if (l.contains(" loss ")) {
        lossesA.add(l.replaceAll(".*( loss [0-9.]+).*", "$1"));
      }
    }
    for (String l : linesB) {
      if (l.contains(" loss ")) {
        lossesB.add(l.replaceAll(".*( loss [0-9.]+).*", "$1"));
      }
    }
    assertEquals(lossesA, lossesB, "every round's averaged loss");
  }

  /** An entry of the model zip of the run's LATEST checkpoint. */
  static byte[] entry(Path out, String name) throws IOException {
    Path cps = out.resolve("checkpoints");
    Path zip = cps.resolve(Files.readString(cps.resolve(CheckpointStore.LATEST)).trim()).resolve(CheckpointStore.MODEL);
    try (ZipFile z = new ZipFile(zip.toFile()); InputStream in = z.getInputStream(z.getEntry(name))) {
      return in.readAllBytes();
    }
  }
}
