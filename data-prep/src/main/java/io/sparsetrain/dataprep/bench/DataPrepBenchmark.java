package io.sparsetrain.dataprep.bench;

import io.sparsetrain.dataprep.BatchOptions;
import io.sparsetrain.dataprep.InputFormat;
import io.sparsetrain.dataprep.Manifest;
import io.sparsetrain.dataprep.ParquetDataSets;
import io.sparsetrain.dataprep.PrepJob;
import io.sparsetrain.dataprep.PrepOptions;
import io.sparsetrain.dataprep.Preset;
import io.sparsetrain.dataprep.ShardDataSetIterator;
import io.sparsetrain.sparkconf.SparkSessions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.SparkSession;

/**
 * Images/s of (1) converting Fashion-MNIST (train + test, 70,000 images) to Parquet shards with {@code prep}
 * and (2) reading the train split back into DL4J minibatches on the executors (and with the local iterator).
 * Warm-up runs first, then repetitions; prints every run and the min / median / max images/s.
 *
 * <p>Usage: {@code DataPrepBenchmark [input-dir] [work-dir] [reps] [warmup] [shards] [batch]} with defaults
 * /usr/share/datasets/fashion-mnist, a temp dir, 5, 1, 4, 64; Spark profile "local" (local[2]).
 */
public final class DataPrepBenchmark {
  private DataPrepBenchmark() {}

  public static void main(String[] args) throws Exception {
    String input = arg(args, 0, "/usr/share/datasets/fashion-mnist");
    Path work = args.length > 1 ? Path.of(args[1]) : Files.createTempDirectory("dataprep-bench");
    int reps = Integer.parseInt(arg(args, 2, "5"));
    int warmup = Integer.parseInt(arg(args, 3, "1"));
    int shards = Integer.parseInt(arg(args, 4, "4"));
    int batch = Integer.parseInt(arg(args, 5, "64"));
    SparkSession spark = SparkSessions.getOrCreate("dataprep-benchmark", "local");
    System.out.printf(Locale.ROOT, "# DataPrepBenchmark input=%s shards=%d batch=%d reps=%d warmup=%d master=%s "
        + "cores=%d java=%s%n", input, shards, batch, reps, warmup, spark.sparkContext().master(),
        Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"));

    String out = work.resolve("fashion-mnist").toString();
    List<Double> convert = new ArrayList<>();
    List<Double> readRdd = new ArrayList<>();
    List<Double> readLocal = new ArrayList<>();
    Manifest m = null;
    for (int i = 0; i < warmup + reps; i++) {
      boolean measured = i >= warmup;
      PrepOptions opts = PrepOptions.builder().format(InputFormat.IDX).input(input).output(out).shards(shards)
          .seed(42).preset(Preset.FASHION_MNIST).overwrite(true).build();
      long t0 = System.nanoTime();
      m = PrepJob.run(spark, opts, s -> { });
      double secs = (System.nanoTime() - t0) / 1e9;
      long rows = m.splits.values().stream().mapToLong(s -> s.rows).sum();
      record("convert", i, measured, rows, secs, convert);

      BatchOptions bo = BatchOptions.builder().batchSize(batch).build();
      t0 = System.nanoTime();
      long n = ParquetDataSets.dataSets(spark, out, "train", bo).map(d -> (long) d.numExamples())
          .reduce(Long::sum);
      secs = (System.nanoTime() - t0) / 1e9;
      record("read-rdd", i, measured, n, secs, readRdd);

      t0 = System.nanoTime();
      ShardDataSetIterator it = ParquetDataSets.localIterator(out, "train", bo,
          spark.sparkContext().hadoopConfiguration());
      long local = 0;
      while (it.hasNext()) {
        local += it.next().numExamples();
      }
      secs = (System.nanoTime() - t0) / 1e9;
      record("read-local", i, measured, local, secs, readLocal);
    }
    System.out.println("# manifest summary of the last run:");
    System.out.print(m.summary());
    summary("convert (prep, 70,000 images: IDX.gz parse on driver + Parquet write)", convert);
    summary("read-rdd (train split -> DataSet batches on executors, local[2])", readRdd);
    summary("read-local (train split -> DataSet batches, ShardDataSetIterator, 1 thread)", readLocal);
    spark.stop();
  }

  private static void record(String what, int i, boolean measured, long images, double secs, List<Double> into) {
    double rate = images / secs;
    System.out.printf(Locale.ROOT, "%-10s run %d%s: %d images in %.2f s = %.0f images/s%n", what, i,
        measured ? "" : " (warm-up)", images, secs, rate);
    if (measured) {
      into.add(rate);
    }
  }

  private static void summary(String what, List<Double> rates) {
    double[] r = rates.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    double median = r.length % 2 == 1 ? r[r.length / 2] : (r[r.length / 2 - 1] + r[r.length / 2]) / 2;
    System.out.printf(Locale.ROOT, "RESULT %s: min %.0f, median %.0f, max %.0f images/s over %d runs %s%n", what,
        r[0], median, r[r.length - 1], r.length, Arrays.toString(Arrays.stream(r).mapToLong(Math::round).toArray()));
  }

  private static String arg(String[] args, int i, String def) {
    return args.length > i ? args[i] : def;
  }
}
