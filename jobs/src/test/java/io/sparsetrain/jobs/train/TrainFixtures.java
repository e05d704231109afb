package io.sparsetrain.jobs.train;

import io.sparsetrain.dataprep.InputFormat;
import io.sparsetrain.dataprep.PrepJob;
import io.sparsetrain.dataprep.PrepOptions;
import io.sparsetrain.dataprep.Preset;
import io.sparsetrain.jobs.train.config.TrainConfig;
import io.sparsetrain.sparkconf.SharedSparkSession;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.SparkSession;

/**
 * A tiny learnable image dataset generated at test time (no binary fixtures): 10 classes of 12x12 grey images,
 * class c = a bright 3x3 square at a class-specific place plus noise; 320 train / 80 test images written as IDX
 * files and prepared into 4 Parquet shards per split by the real {@code prep} job. Created once per JVM.
 */
final class TrainFixtures {
  static final int TRAIN = 320;
  static final int TEST = 80;
  static final int SIZE = 12;
  private static Path dataset;

  private TrainFixtures() {}

  /** The one local[2] session of the test JVM (sparkconf's profile sets the Kryo registrator DL4J Spark needs). */
  static SparkSession spark() {
    return SharedSparkSession.session();
  }

  static synchronized Path dataset() {
    if (dataset == null) {
      try {
        Path root = Files.createTempDirectory("sparsetrain-train-data");
        Path idx = root.resolve("idx");
        Files.createDirectories(idx);
        Random rnd = new Random(1);
        writeIdx(idx, "train", TRAIN, rnd);
        writeIdx(idx, "t10k", TEST, rnd);
        Path out = root.resolve("dataset");
        PrepJob.run(spark(), PrepOptions.builder().format(InputFormat.IDX).input(idx.toString())
            .output(out.toString()).shards(4).preset(Preset.FASHION_MNIST).build(), line -> { });
        dataset = out;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return dataset;
  }

  private static void writeIdx(Path dir, String prefix, int n, Random rnd) throws IOException {
    int[] labels = new int[n];
    try (DataOutputStream o = new DataOutputStream(Files.newOutputStream(dir.resolve(prefix + "-images-idx3-ubyte")))) {
      o.writeInt(0x803);
      o.writeInt(n);
      o.writeInt(SIZE);
      o.writeInt(SIZE);
      for (int i = 0; i < n; i++) {
        int c = i % 10;
        labels[i] = c;
        int y0 = (c / 4) * 4;
        int x0 = (c % 4) * 3;
        byte[] px = new byte[SIZE * SIZE];
        for (int p = 0; p < px.length; p++) {
          px[p] = (byte) rnd.nextInt(40);
        }
        for (int y = y0; y < y0 + 3; y++) {
          for (int x = x0; x < x0 + 3; x++) {
            px[y * SIZE + x] = (byte) (200 + rnd.nextInt(55));
          }
        }
        o.write(px);
      }
    }
    try (DataOutputStream o = new DataOutputStream(Files.newOutputStream(dir.resolve(prefix + "-labels-idx1-ubyte")))) {
      o.writeInt(0x801);
      o.writeInt(n);
      for (int l : labels) {
        o.writeByte(l);
      }
    }
  }

  /** The tiny-test recipe pointed at the fixture dataset and {@code out}, plus extra overrides. */
  static TrainConfig tinyConfig(Path out, String... sets) {
    List<String> all = new ArrayList<>();
    all.add("data.path=\"" + dataset() + "\"");
    all.add("output.dir=\"" + out + "\"");
    all.addAll(List.of(sets));
    return TrainConfig.load(recipe("tiny-test.conf").toFile(), all);
  }

  /** A recipe from src/main/resources/recipes (tests run with the module as working directory). */
  static Path recipe(String name) {
    Path p = Path.of("src/main/resources/recipes", name);
    if (!Files.exists(p)) {
      throw new IllegalStateException("recipe not found: " + p.toAbsolutePath());
    }
    return p;
  }
}
