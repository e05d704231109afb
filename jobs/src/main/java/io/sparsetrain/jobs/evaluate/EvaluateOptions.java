package io.sparsetrain.jobs.evaluate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Every setting of one {@code evaluate} run, validated in one place (the constructor) with messages that name the
 * option and the value. Immutable.
 *
 * @param models the models, in report order
 * @param data prepared dataset directory (local, s3a://, hdfs://)
 * @param split the split to evaluate (default test)
 * @param output directory to create; written under a temporary sibling and renamed when complete
 * @param maxExamples examples to evaluate (0 = the whole split), taken from every shard in proportion to its rows
 * @param eps FGSM epsilons as fractions of the input range (scaled by hi - lo of the normalised input)
 * @param batchSize evaluation minibatch size (images)
 * @param normalization unit | none, or null for the training run's (metrics.json), else unit
 * @param execution auto | local | distributed: where accuracy, FGSM and the certificate are computed
 * @param localThreshold with auto, evaluate locally (on the driver) when at most this many examples are evaluated
 * @param certificate auto | masks | none | N:M (see {@link Certificate})
 * @param certVerifyExamples examples on which the certificate is checked empirically (0 = no check)
 * @param speedReps measured repetitions per speed measurement (0 = no speed measurement)
 * @param speedRepSeconds wall time of one repetition, seconds
 * @param speedWarmupSeconds minimum warm-up per variant and batch size, seconds (then until stable)
 * @param speedBatches batch sizes of the speed measurement
 * @param sparkProfile sparkconf profile when not run under spark-submit
 */
public record EvaluateOptions(List<ModelSource> models, String data, String split, String output, int maxExamples,
    double[] eps, int batchSize, String normalization, String execution, int localThreshold, String certificate,
    int certVerifyExamples, int speedReps, double speedRepSeconds, double speedWarmupSeconds, int[] speedBatches,
    String sparkProfile) {

  public static final String DEFAULT_EPS = "0,0.05,0.1,0.15,0.2,0.25,0.3";
  public static final int DEFAULT_BATCH_SIZE = 64;
  public static final int DEFAULT_LOCAL_THRESHOLD = 2000;
  public static final int DEFAULT_CERT_VERIFY = 256;
  public static final int DEFAULT_SPEED_REPS = 5;
  public static final double DEFAULT_SPEED_REP_SECONDS = 0.5;
  public static final double DEFAULT_SPEED_WARMUP_SECONDS = 10;

  public EvaluateOptions {
    if (models == null || models.isEmpty()) {
      throw new EvaluateException("give at least one model: --checkpoint DIR or --model FILE");
    }
    Set<String> labels = new HashSet<>();
    for (ModelSource m : models) {
      if (m.label() != null && !labels.add(m.label())) {
        throw new EvaluateException("two models are labelled '" + m.label() + "'");
      }
    }
    require(data, "--data");
    require(split, "--split");
    require(output, "--output");
    if (maxExamples < 0) {
      throw new EvaluateException("--max-examples must be >= 0 (0 = all), got " + maxExamples);
    }
    if (eps == null) {
      throw new EvaluateException("--fgsm-eps must not be empty");
    }
    for (double e : eps) {
      if (!(e >= 0 && e <= 1)) {
        throw new EvaluateException("--fgsm-eps values are fractions of the input range in [0, 1], got " + e);
      }
    }
    if (batchSize < 1) {
      throw new EvaluateException("--batch-size must be >= 1, got " + batchSize);
    }
    if (normalization != null && !normalization.equals("unit") && !normalization.equals("none")) {
      throw new EvaluateException("--normalization must be unit or none, got '" + normalization + "'");
    }
    if (!List.of("auto", "local", "distributed").contains(execution)) {
      throw new EvaluateException("--execution must be auto, local or distributed, got '" + execution + "'");
    }
    if (localThreshold < 0) {
      throw new EvaluateException("--local-threshold must be >= 0, got " + localThreshold);
    }
    Certificate.checkOption(certificate);
    if (certVerifyExamples < 0) {
      throw new EvaluateException("--cert-verify-examples must be >= 0, got " + certVerifyExamples);
    }
    if (speedReps < 0 || !(speedRepSeconds > 0) || !(speedWarmupSeconds >= 0)) {
      throw new EvaluateException("--speed-reps must be >= 0, --speed-rep-seconds > 0 and --speed-warmup-seconds >= 0,"
          + " got " + speedReps + ", " + speedRepSeconds + " and " + speedWarmupSeconds);
    }
    for (int b : speedBatches) {
      if (b < 1) {
        throw new EvaluateException("--speed-batches must be >= 1, got " + b);
      }
    }
    models = List.copyOf(models);
    eps = eps.clone();
    speedBatches = speedBatches.clone();
  }

  /** A path for logs and reports: user info in a URI (s3a://key:secret@bucket) replaced by ***. */
  public static String redact(String path) {
    return path == null ? null : path.replaceAll("^([a-zA-Z0-9]+://)[^/@]*@", "$1***@");
  }

  private static void require(String v, String option) {
    if (v == null || v.isBlank()) {
      throw new EvaluateException(option + " is required");
    }
  }

  /**
   * Parses a comma-separated epsilon list ("0,.05,.1"), sorted and without duplicates.
   *
   * @throws EvaluateException naming the bad entry
   */
  public static double[] parseEps(String text) {
    if (text == null || text.isBlank()) {
      throw new EvaluateException("--fgsm-eps must not be empty");
    }
    List<Double> out = new ArrayList<>();
    for (String part : text.split(",")) {
      String t = part.trim();
      double v;
      try {
        v = Double.parseDouble(t);
      } catch (NumberFormatException e) {
        throw new EvaluateException("--fgsm-eps '" + text + "': '" + t + "' is not a number");
      }
      if (!(v >= 0 && v <= 1)) {
        throw new EvaluateException("--fgsm-eps '" + text + "': " + t + " is outside [0, 1] (fractions of the input "
            + "range)");
      }
      if (!out.contains(v)) {
        out.add(v);
      }
    }
    return out.stream().mapToDouble(Double::doubleValue).sorted().toArray();
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("evaluate options:\n");
    for (ModelSource m : models) {
      sb.append("  model ").append(m).append('\n');
    }
    sb.append(String.format(Locale.ROOT, "  data %s split %s output %s%n  max-examples %d batch-size %d "
            + "normalization %s execution %s (local-threshold %d)%n  fgsm-eps %s%n  certificate %s "
            + "(verify on %d examples)%n  speed: batches %s, %d reps of %.2f s after >= %.1f s warm-up%n"
            + "  spark-profile %s%n", redact(data),
        split, redact(output), maxExamples, batchSize,
        normalization == null ? "(from the run, else unit)" : normalization, execution,
        localThreshold, Arrays.toString(eps), certificate, certVerifyExamples, Arrays.toString(speedBatches),
        speedReps, speedRepSeconds, speedWarmupSeconds, sparkProfile));
    return sb.toString();
  }
}
