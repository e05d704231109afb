package io.sparsetrain.jobs.train;

import io.sparsetrain.jobs.train.config.TrainConfig;
import io.sparsetrain.sparkconf.SparkSessions;
import java.io.File;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code train}: gradual-pruning training on Spark from a HOCON job configuration
 * ({@code recipes/reference-train.conf} documents every key). The configuration is validated before any Spark
 * work starts; {@code --set} overrides win over the file.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
    description = "Trains a CNN with DL4J parameter averaging and driver-side gradual pruning "
        + "(masks recomputed after every averaging round, frozen after the pruning era).")
public final class TrainCommand implements Callable<Integer> {

  @Option(names = "--config", paramLabel = "FILE.conf",
      description = "Job configuration (HOCON); see recipes/reference-train.conf for every key.")
  File config;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = "Override one key (repeatable), e.g. --set schedule.final-sparsity=0.8 "
          + "(the leading 'train.' may be omitted).")
  List<String> overrides = new ArrayList<>();

  @Option(names = "--resume", description = "Continue from the last checkpoint in train.output.dir.")
  boolean resume;

  @Option(names = "--init-from", paramLabel = "CHECKPOINT",
      description = "Start a fresh run from another run's dense checkpoint (a checkpoint dir such as "
          + ".../checkpoints/epoch-0004, or a run's output dir for its LATEST) instead of from scratch: e.g. a "
          + "pruning recipe branching off a dense run before its pruning era. Refused unless seed, data, model, "
          + "optimizer and cluster settings match and the checkpoint is dense and at or before the era start.")
  String initFrom;

  @Option(names = "--spark-profile", paramLabel = "NAME",
      description = "sparkconf profile when not run under spark-submit (overrides train.cluster.spark-profile).")
  String sparkProfile;

  @Option(names = "--print-config", description = "Print the validated configuration and exit (no Spark).")
  boolean printConfig;

  PrintStream out = System.out;

  @Override
  public Integer call() {
    List<String> sets = new ArrayList<>(overrides);
    if (sparkProfile != null) {
      sets.add("cluster.spark-profile=" + sparkProfile);
    }
    TrainConfig c = TrainConfig.load(config, sets); // throws before any Spark work
    out.print(c);
    if (printConfig) {
      return 0;
    }
    SparkSession spark = SparkSessions.getOrCreate("sparsetrain-train-" + c.name(), c.sparkProfile());
    TrainJob.run(spark, c, resume, initFrom, line -> {
      out.println(line);
      out.flush();
    });
    return 0;
  }
}
