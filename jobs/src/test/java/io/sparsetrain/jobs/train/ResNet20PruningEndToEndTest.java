package io.sparsetrain.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.sparsetrain.dataprep.InputFormat;
import io.sparsetrain.dataprep.PrepJob;
import io.sparsetrain.dataprep.PrepOptions;
import io.sparsetrain.dataprep.Preset;
import io.sparsetrain.jobs.train.checkpoint.CheckpointStore;
import io.sparsetrain.jobs.train.config.TrainConfig;
import io.sparsetrain.jobs.train.pruning.DriverPruningControl;
import io.sparsetrain.jobs.train.report.EpochRecord;
import io.sparsetrain.nn.MaskedNetwork;
import io.sparsetrain.nn.layers.SparseLayer;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.nm.NmMagnitudePruner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 4, end to end on real data: Fashion-MNIST prepared into Parquet shards by the real prep job, a subset
 * trained on local[2] with ResNet-20 on sparse layers through the train job (DL4J Spark parameter averaging):
 * dense, then gradual combined (window + CK) pruning to 70% global sparsity, frozen, fine-tuned; and a 2:4 run
 * whose frozen layers run on the compressed kernels inside the Spark tasks.
 */
class ResNet20PruningEndToEndTest {
  static final Path FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist");
  private static Path prepared;

  @TempDir
  Path tmp;

  /** The full Fashion-MNIST prepared once per JVM (60k/10k images, 4 shards per split; ~10 s). */
  static synchronized Path fashionMnist() {
    assumeTrue(Files.exists(FASHION_MNIST.resolve("train-images-idx3-ubyte.gz")),
        "Fashion-MNIST is not installed at " + FASHION_MNIST + " (Debian package dataset-fashion-mnist)");
    if (prepared == null) {
      try {
        Path out = Files.createTempDirectory("sparsetrain-fmnist").resolve("fashion-mnist");
        long t0 = System.nanoTime();
        PrepJob.run(TrainFixtures.spark(), PrepOptions.builder().format(InputFormat.IDX).input(FASHION_MNIST.toString())
            .output(out.toString()).shards(4).preset(Preset.FASHION_MNIST).build(), line -> { });
        System.out.printf(Locale.ROOT, "prepared Fashion-MNIST in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        prepared = out;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return prepared;
  }

  private TrainConfig config(String name, List<String> sets) {
    List<String> all = new ArrayList<>(List.of(
        "name=" + name,
        "seed=42",
        "model.builder=resnet20",
        "model.layers=sparse",
        "data.path=\"" + fashionMnist() + "\"",
        "data.normalization=unit",
        "data.max-test-examples=1000",
        "data.eval-batch-size=250",
        "optimizer.type=adam",
        "optimizer.learning-rate=0.003",
        "cluster.workers=2",
        "cluster.batch-size-per-worker=32",
        "cluster.averaging-frequency=2",
        "cluster.worker-prefetch-batches=0",
        "output.dir=\"" + tmp.resolve(name) + "\""));
    all.addAll(sets);
    return TrainConfig.load(TrainFixtures.recipe("reference-train.conf").toFile(), all);
  }

  private static TrainJob.Result run(TrainConfig c) {
    List<String> lines = new ArrayList<>();
    TrainJob.Result r = TrainJob.run(TrainFixtures.spark(), c, false, line -> {
      lines.add(line);
      System.out.println(line);
    });
    assertEquals(c.epochs(), r.epochs().size());
    return r;
  }

  /** The final network, read back from the run's last checkpoint (what a user gets). */
  private static MaskedNetwork finalNetwork(TrainConfig c) {
    CheckpointStore store = new CheckpointStore(c.outputDir(), TrainFixtures.spark().sparkContext().hadoopConfiguration());
    return MaskedNetwork.of(store.load(store.latest().orElseThrow()).network());
  }

  private static Set<String> excluded(TrainConfig c, List<PrunableLayer> layers) {
    return new DriverPruningControl(c, 1, false).controller().excludedLayers(layers);
  }

  @Test
  void resnet20CombinedPruningTo70PercentOnFashionMnist() {
    long t0 = System.nanoTime();
    TrainConfig c = config("e2e-combined70", List.of(
        "epochs=4",
        "data.max-train-examples=2560",
        "schedule.start-epoch=1",
        "schedule.length-epochs=2",
        "schedule.final-sparsity=0.7",
        "pruning.pattern=combined",
        "pruning.window-fraction=0.8"));
    TrainJob.Result r = run(c);
    double seconds = (System.nanoTime() - t0) / 1e9;
    EpochRecord dense = r.epochs().get(0);
    EpochRecord last = r.epochs().get(c.epochs() - 1);
    assertEquals("dense", dense.phase);
    assertEquals("frozen", last.phase);
    assertTrue(r.state().frozen, "masks frozen after the era");

    // sparsity counted from the final model's weights, over the prunable (non-excluded) layers
    MaskedNetwork net = finalNetwork(c);
    List<PrunableLayer> layers = net.prunableLayers();
    Set<String> ex = excluded(c, layers);
    MaskSet masks = net.masks();
    assertEquals(r.masks(), masks, "the checkpointed M parameters are the job's final masks");
    long total = 0;
    long zeros = 0;
    long masked = 0;
    for (PrunableLayer l : layers) {
      Mask m = masks.get(l.name());
      float[] w = l.weights();
      for (int i = 0; i < w.length; i++) {
        if (!m.isKept(i)) {
          assertTrue(w[i] == 0f, "masked weight " + i + " of " + l.name() + " is " + w[i]);
          masked++;
        }
      }
      if (ex.contains(l.name())) {
        continue;
      }
      total += w.length;
      for (float v : w) {
        if (v == 0f) {
          zeros++;
        }
      }
    }
    double sparsity = zeros / (double) total;
    System.out.printf(Locale.ROOT, "E2E ResNet-20 combined 70%%: %d train / %d test images, dense top-1 %.4f (epoch 1), "
            + "sparse top-1 %.4f (epoch %d), global sparsity from weights %.4f (%d of %d prunable weights, "
            + "excluded %s), %d masked weights all zero, %.0f s%n", last.images, 1000, dense.testTop1, last.testTop1,
        c.epochs(), sparsity, zeros, total, ex, masked, seconds);
    assertEquals(0.70, sparsity, 0.001, "global sparsity within 0.1 point of the target");
    assertEquals(0.70, last.achievedSparsity, 0.001, "reported sparsity");
    assertTrue(last.testTop1 > 0.65, "sparse ResNet-20 well above chance (0.1): " + last.testTop1);
    assertTrue(dense.testTop1 > 0.5, "dense ResNet-20 after one epoch: " + dense.testTop1);
  }

  @Test
  void resnet20TwoFourMasksFrozenRunCompressedOnTheWorkers() {
    long t0 = System.nanoTime();
    TrainConfig c = config("e2e-2to4", List.of(
        "epochs=2",
        "data.max-train-examples=1024",
        "schedule.start-epoch=0",
        "schedule.length-epochs=1",
        "schedule.final-sparsity=0.5",
        "pruning.pattern=nm",
        "pruning.n=2",
        "pruning.m=4"));
    TrainJob.Result r = run(c);
    MaskedNetwork net = finalNetwork(c);
    List<PrunableLayer> layers = net.prunableLayers();
    Set<String> ex = excluded(c, layers);
    Set<String> prunable = new TreeSet<>();
    for (PrunableLayer l : layers) {
      if (!ex.contains(l.name())) {
        prunable.add(l.name());
        assertTrue(NmMagnitudePruner.satisfiesNm(net.masks().get(l.name()), 2, 4), l.name() + " mask is 2:4");
      }
    }
    assertFalse(prunable.isEmpty());
    assertTrue(net.isFrozen());
    assertEquals(prunable, new TreeSet<>(net.compressedLayers()), "every 2:4 layer is frozen compressed");
    for (String name : prunable) {
      SparseLayer l = net.sparseLayers().get(name);
      assertEquals(2, l.frozenFormat().n());
      assertEquals(4, l.frozenFormat().m());
    }
    EpochRecord last = r.epochs().get(1);
    assertEquals("frozen", last.phase);
    // reported from inside the Spark tasks by the worker listener
    assertEquals(prunable, new TreeSet<>(last.workerCompressedLayers), "layers compressed on the workers");
    System.out.printf(Locale.ROOT, "E2E ResNet-20 2:4: %d compressed layers on the workers, top-1 %.4f -> %.4f, "
        + "sparsity %.4f, %.0f s%n", last.workerCompressedLayers.size(), r.epochs().get(0).testTop1, last.testTop1,
        last.achievedSparsity, (System.nanoTime() - t0) / 1e9);
    assertTrue(last.testTop1 > 0.3, "2:4 ResNet-20 above chance: " + last.testTop1);
  }
}
