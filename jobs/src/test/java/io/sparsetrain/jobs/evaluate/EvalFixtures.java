package io.sparsetrain.jobs.evaluate;

import io.sparsetrain.dataprep.InputFormat;
import io.sparsetrain.dataprep.PrepJob;
import io.sparsetrain.dataprep.PrepOptions;
import io.sparsetrain.dataprep.Preset;
import io.sparsetrain.jobs.train.TrainJob;
import io.sparsetrain.jobs.train.config.TrainConfig;
import io.sparsetrain.sparkconf.SharedSparkSession;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.apache.spark.sql.SparkSession;

/**
 * Real Fashion-MNIST for the evaluate tests: the first {@value #TRAIN} training and {@value #TEST} test images of
 * /usr/share/datasets/fashion-mnist, prepared into 4 Parquet shards per split by the real {@code prep} job, and one
 * tiny CNN trained on them by the real {@code train} job (tiny-test recipe, 3 epochs: dense epoch 0, combined
 * pruning to 50% during epoch 1, masks frozen from the first round of epoch 2). Created once per test JVM.
 */
final class EvalFixtures {
  static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");
  static final int TRAIN = 384;
  static final int TEST = 400;
  private static Path dataset;
  private static Path run;

  private EvalFixtures() {}

  static SparkSession spark() {
    return SharedSparkSession.session();
  }

  static synchronized Path dataset() {
    if (dataset == null) {
      try {
        Path root = Files.createTempDirectory("sparsetrain-eval-data");
        Path idx = root.resolve("idx");
        Files.createDirectories(idx);
        subset("train", TRAIN, idx);
        subset("t10k", TEST, idx);
        Path out = root.resolve("dataset");
        long t0 = System.nanoTime();
        spark();
        System.out.printf("fixture: spark session in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        t0 = System.nanoTime();
        PrepJob.run(spark(), PrepOptions.builder().format(InputFormat.IDX).input(idx.toString())
            .output(out.toString()).shards(4).preset(Preset.FASHION_MNIST).build(), line -> { });
        System.out.printf("fixture: prepared in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        dataset = out;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return dataset;
  }

  /** The first n images and labels of a Fashion-MNIST IDX pair, written uncompressed. */
  private static void subset(String prefix, int n, Path dir) throws IOException {
    try (DataInputStream in = gz(prefix + "-images-idx3-ubyte.gz");
        DataOutputStream o = new DataOutputStream(Files.newOutputStream(dir.resolve(prefix + "-images-idx3-ubyte")))) {
      int magic = in.readInt();
      in.readInt();
      int rows = in.readInt();
      int cols = in.readInt();
      o.writeInt(magic);
      o.writeInt(n);
      o.writeInt(rows);
      o.writeInt(cols);
      o.write(in.readNBytes(n * rows * cols));
    }
    try (DataInputStream in = gz(prefix + "-labels-idx1-ubyte.gz");
        DataOutputStream o = new DataOutputStream(Files.newOutputStream(dir.resolve(prefix + "-labels-idx1-ubyte")))) {
      o.writeInt(in.readInt());
      in.readInt();
      o.writeInt(n);
      o.write(in.readNBytes(n));
    }
  }

  private static DataInputStream gz(String name) throws IOException {
    InputStream raw = Files.newInputStream(FASHION.resolve(name));
    return new DataInputStream(new GZIPInputStream(raw));
  }

  /** A train run of the tiny-test recipe on {@link #dataset()}; returns its output directory. */
  static synchronized Path trainedRun() {
    if (run == null) {
      try {
        Path out = Files.createTempDirectory("sparsetrain-eval-run").resolve("run");
        List<String> sets = new ArrayList<>(List.of("data.path=\"" + dataset() + "\"", "output.dir=\"" + out + "\"",
            "epochs=3", "schedule.start-epoch=1", "schedule.length-epochs=1"));
        Path recipe = Path.of("src/main/resources/recipes/tiny-test.conf");
        long t0 = System.nanoTime();
        TrainJob.run(spark(), TrainConfig.load(recipe.toFile(), sets), false, line -> { });
        System.out.printf("fixture: trained in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        run = out;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return run;
  }
}
