package io.sparsetrain.jobs.throughput;

import io.sparsetrain.jobs.train.config.TrainConfig;
import io.sparsetrain.sparkconf.SparkSessions;
import java.io.File;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code throughput}: training images/s of a train-job configuration, 1 vs 2 workers and dense vs frozen sparse,
 * side by side in one Spark application ({@link ThroughputBenchmark}); prints the table and writes the JSON.
 */
@Command(name = "throughput", mixinStandardHelpOptions = true,
    description = "Measures training throughput (images/s) of a train configuration in one Spark application: "
        + "each phase (dense, frozen N:M on the compressed kernels, frozen combined) at each worker count, "
        + "warm-up rounds excluded; prints a table with ratios and writes a JSON file.")
public final class ThroughputCommand implements Callable<Integer> {

  @Option(names = "--config", paramLabel = "FILE.conf", required = true,
      description = "Train job configuration (HOCON): model, data, batch size per worker, averaging frequency.")
  File config;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = "Override one key of the configuration (repeatable), as for train.")
  List<String> overrides = new ArrayList<>();

  @Option(names = "--phases", split = ",", paramLabel = "PHASE",
      description = "Phases to measure: dense, frozen-nm, frozen-combined (default: all three).")
  List<String> phases = new ArrayList<>();

  @Option(names = "--workers", split = ",", paramLabel = "N",
      description = "Workers per averaging round to measure each phase at (default: 1,2).")
  List<Integer> workers = new ArrayList<>();

  @Option(names = "--warmup-rounds", defaultValue = "" + ThroughputOptions.DEFAULT_WARMUP_ROUNDS,
      description = "Averaging rounds run before the timed ones in each case (default ${DEFAULT-VALUE}).")
  int warmupRounds;

  @Option(names = "--rounds", defaultValue = "" + ThroughputOptions.DEFAULT_ROUNDS,
      description = "Timed averaging rounds per case (default ${DEFAULT-VALUE}).")
  int rounds;

  @Option(names = "--combined-sparsity", defaultValue = "" + ThroughputOptions.DEFAULT_COMBINED_SPARSITY,
      description = "Global sparsity of the frozen combined masks, fraction of zeros (default ${DEFAULT-VALUE}).")
  double combinedSparsity;

  @Option(names = "--json", paramLabel = "FILE",
      description = "Where the JSON goes (local or Hadoop URI; default <train.output.dir>/throughput.json).")
  String json;

  @Option(names = "--spark-profile", paramLabel = "NAME",
      description = "sparkconf profile when not run under spark-submit (overrides train.cluster.spark-profile).")
  String sparkProfile;

  PrintStream out = System.out;

  /** The validated options of the command line. */
  ThroughputOptions options() {
    ThroughputOptions.Builder b = ThroughputOptions.builder().warmupRounds(warmupRounds).rounds(rounds)
        .combinedSparsity(combinedSparsity).jsonPath(json);
    if (!phases.isEmpty()) {
      List<ThroughputOptions.Phase> ps = new ArrayList<>();
      for (String p : phases) {
        ps.add(ThroughputOptions.Phase.of(p.trim()));
      }
      b.phases(ps);
    }
    if (!workers.isEmpty()) {
      b.workerCounts(workers);
    }
    return b.build();
  }

  @Override
  public Integer call() {
    ThroughputOptions o = options(); // throws before any Spark work
    List<String> sets = new ArrayList<>(overrides);
    if (sparkProfile != null) {
      sets.add("cluster.spark-profile=" + sparkProfile);
    }
    TrainConfig c = TrainConfig.load(config, sets);
    out.println(o);
    SparkSession spark = SparkSessions.getOrCreate("sparsetrain-throughput-" + c.name(), c.sparkProfile());
    ThroughputReport report = ThroughputBenchmark.run(spark, c, o, line -> {
      out.println(line);
      out.flush();
    });
    String path = o.jsonPath() != null ? o.jsonPath() : new Path(c.outputDir(), "throughput.json").toString();
    report.writeJson(path, spark.sparkContext().hadoopConfiguration());
    out.println();
    out.print(report.table());
    out.println("throughput " + c.name() + ": JSON written to " + path);
    out.flush();
    return 0;
  }
}
