package io.sparsetrain.jobs.evaluate;

import io.sparsetrain.sparkconf.SparkProfiles;
import io.sparsetrain.sparkconf.SparkSessions;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code evaluate}: accuracy, FGSM robustness, the mask stability certificate, sparsity and compressed-vs-dense
 * speed of one or more models, with a JSON + HTML report. See docs/evaluate.md.
 */
@Command(name = "evaluate", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Evaluates trained models on a prepared split: top-1/top-5, per-class and FGSM accuracy, the "
        + "stability certificate of their masks, per-layer sparsity and inference speed (compressed N:M kernels "
        + "vs dense), written to OUTPUT/evaluation.json and OUTPUT/report.html.")
public final class EvaluateCommand implements Callable<Integer> {

  @Option(names = "--checkpoint", paramLabel = "[LABEL=]DIR", order = 1,
      description = "A train run's checkpoints/ directory (its LATEST checkpoint), one checkpoint directory "
          + "(checkpoints/epoch-NNNN), or the run's output directory. Repeatable.")
  List<String> checkpoints = new ArrayList<>();

  @Option(names = "--model", paramLabel = "[LABEL=]FILE.zip", order = 2,
      description = "A DL4J model zip (ComputationGraph or MultiLayerNetwork). Repeatable.")
  List<String> modelZips = new ArrayList<>();

  @Option(names = "--masks", paramLabel = "FILE", order = 3,
      description = "A mask file (masks.bin format) for the --model just before it; applied and frozen "
          + "(N:M-shaped masks run on the compressed kernels).")
  List<String> masksFiles = new ArrayList<>();

  @Spec
  CommandSpec spec;

  @Option(names = "--data", required = true, paramLabel = "DATASET", order = 4,
      description = "Prepared dataset directory (local, s3a://, hdfs://).")
  String data;

  @Option(names = "--split", defaultValue = "test", paramLabel = "NAME", order = 5,
      description = "Split to evaluate (default: ${DEFAULT-VALUE}).")
  String split;

  @Option(names = "--output", required = true, paramLabel = "DIR", order = 6,
      description = "Directory to write (atomically; an earlier evaluation there is replaced).")
  String output;

  @Option(names = "--max-examples", defaultValue = "0", paramLabel = "N", order = 7,
      description = "Evaluate N examples, taken from every shard in proportion (default 0 = the whole split).")
  int maxExamples;

  @Option(names = "--fgsm-eps", defaultValue = EvaluateOptions.DEFAULT_EPS, paramLabel = "E1,E2,...", order = 8,
      description = "FGSM epsilons as fractions of the input range (default: ${DEFAULT-VALUE}).")
  String eps;

  @Option(names = "--batch-size", defaultValue = "" + EvaluateOptions.DEFAULT_BATCH_SIZE, paramLabel = "N",
      order = 9, description = "Evaluation minibatch (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--normalization", paramLabel = "unit|none", order = 10,
      description = "Input scaling (default: the training run's, from its metrics.json, else unit).")
  String normalization;

  @Option(names = "--execution", defaultValue = "auto", paramLabel = "auto|local|distributed", order = 11,
      description = "Where accuracy, FGSM and the certificate run: on the executors, one task per shard, or on the "
          + "driver; auto = local up to --local-threshold examples (default: ${DEFAULT-VALUE}).")
  String execution;

  @Option(names = "--local-threshold", defaultValue = "" + EvaluateOptions.DEFAULT_LOCAL_THRESHOLD,
      paramLabel = "N", order = 12, description = "See --execution (default: ${DEFAULT-VALUE}).")
  int localThreshold;

  @Option(names = "--certificate", defaultValue = "auto", paramLabel = "auto|masks|none|N:M", order = 13,
      description = "Perturbation the stability certificate covers: the models' masks against the weights "
          + "before --masks, or magnitude N:M masks on top of the model; auto = masks if they remove any weight, "
          + "else 2:4 (default: ${DEFAULT-VALUE}).")
  String certificate;

  @Option(names = "--cert-verify-examples", defaultValue = "" + EvaluateOptions.DEFAULT_CERT_VERIFY,
      paramLabel = "N", order = 14,
      description = "Check the certificate empirically on the first N examples (0 = off; default ${DEFAULT-VALUE}).")
  int certVerify;

  @Option(names = "--speed-batches", defaultValue = "1,32", split = ",", paramLabel = "B1,B2", order = 15,
      description = "Batch sizes of the speed measurement (default: ${DEFAULT-VALUE}).")
  int[] speedBatches;

  @Option(names = "--speed-reps", defaultValue = "" + EvaluateOptions.DEFAULT_SPEED_REPS, paramLabel = "N",
      order = 16, description = "Measured repetitions per speed point, after a warm-up (0 = no speed; default "
          + "${DEFAULT-VALUE}).")
  int speedReps;

  @Option(names = "--speed-rep-seconds", defaultValue = "" + EvaluateOptions.DEFAULT_SPEED_REP_SECONDS,
      paramLabel = "S", order = 17, description = "Duration of one repetition (default: ${DEFAULT-VALUE}).")
  double speedRepSeconds;

  @Option(names = "--speed-warmup-seconds", defaultValue = "" + EvaluateOptions.DEFAULT_SPEED_WARMUP_SECONDS,
      paramLabel = "S", order = 18, description = "Minimum warm-up per variant and batch size, then until the time "
          + "per call is stable (the compressed kernels are slow until the JIT has compiled them; default "
          + "${DEFAULT-VALUE}).")
  double speedWarmupSeconds;

  @Option(names = "--spark-profile", defaultValue = "local", paramLabel = "NAME", order = 19,
      description = "sparkconf profile when not run under spark-submit (default: ${DEFAULT-VALUE}).")
  String sparkProfile;

  PrintStream out = System.out;

  /** The validated options (throws {@link EvaluateException} naming the bad value). */
  EvaluateOptions options() {
    List<ModelSource> models = models(spec.commandLine().getParseResult().originalArgs());
    return new EvaluateOptions(models, data, split, output, maxExamples, EvaluateOptions.parseEps(eps), batchSize,
        normalization, execution, localThreshold, certificate, certVerify, speedReps, speedRepSeconds,
        speedWarmupSeconds, speedBatches, sparkProfile);
  }

  @Override
  public Integer call() {
    EvaluateOptions o = options(); // throws before any Spark work
    // the Hadoop settings the driver reads models and writes the report with: an active session's, else
    // spark-submit's spark.hadoop.* (system properties), else the sparkconf profile's
    SparkSession[] session = new SparkSession[1];
    Configuration hconf = SparkSession.getActiveSession().isDefined()
        ? SparkSession.getActiveSession().get().sparkContext().hadoopConfiguration() : hadoopConf(o.sparkProfile());
    EvaluateJob.run(o, hconf, () -> {
      if (session[0] == null) {
        session[0] = SparkSessions.getOrCreate("sparsetrain-evaluate", o.sparkProfile());
      }
      return session[0];
    }, line -> {
      out.println(line);
      out.flush();
    });
    return 0;
  }

  /**
   * The models in command-line order, each --masks attached to the --model right before it (picocli keeps
   * repeated options in separate lists, so the order comes from the original arguments).
   */
  static List<ModelSource> models(List<String> args) {
    List<ModelSource> out = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      String opt = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
      if (!opt.equals("--checkpoint") && !opt.equals("--model") && !opt.equals("--masks")) {
        continue;
      }
      String value = a.contains("=") ? a.substring(a.indexOf('=') + 1) : (i + 1 < args.size() ? args.get(++i) : "");
      switch (opt) {
        case "--checkpoint" -> out.add(ModelSource.parse(ModelSource.Kind.CHECKPOINT, value));
        case "--model" -> out.add(ModelSource.parse(ModelSource.Kind.MODEL, value));
        default -> {
          if (out.isEmpty() || out.get(out.size() - 1).kind() != ModelSource.Kind.MODEL) {
            throw new EvaluateException("--masks " + value + " must follow the --model it belongs to");
          }
          ModelSource last = out.get(out.size() - 1);
          if (last.masks() != null) {
            throw new EvaluateException("--model " + last.path() + " has two --masks: " + last.masks() + " and "
                + value);
          }
          out.set(out.size() - 1, last.withMasks(value));
        }
      }
    }
    return out;
  }

  /** Hadoop's defaults, then the profile's spark.hadoop.* (outside spark-submit) or spark-submit's. */
  private static Configuration hadoopConf(String profile) {
    Configuration c = new Configuration();
    if (System.getProperty("spark.master") == null) {
      SparkProfiles.load(profile).hadoopConf().forEach(c::set);
    }
    for (String k : System.getProperties().stringPropertyNames()) {
      if (k.startsWith("spark.hadoop.")) {
        c.set(k.substring("spark.hadoop.".length()), System.getProperty(k));
      }
    }
    return c;
  }
}
