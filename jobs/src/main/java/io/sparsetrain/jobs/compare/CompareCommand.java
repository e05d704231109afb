package io.sparsetrain.jobs.compare;

import io.sparsetrain.jobs.sparsify.SparsifyException;
import io.sparsetrain.sparkconf.SparkSessions;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code compare}: the sparsification methods side by side on one dense model; see docs/compare.md. */
@Command(name = "compare", mixinStandardHelpOptions = true,
    description = "Runs sparsify per method and global sparsity (uniform, erk, allocation at each --targets; "
        + "magnitude-nm and learned-nm at N:M; str-bn if listed) on a dense model and writes the comparison table: "
        + "compare.json, compare.md, report.html with an accuracy-vs-sparsity chart.")
public final class CompareCommand implements Callable<Integer> {

  @Option(names = "--model", required = true, paramLabel = "PATH",
      description = "Dense DL4J model zip, a train job's output dir (latest checkpoint) or a checkpoint dir.")
  String model;

  @Option(names = "--data", required = true, paramLabel = "PATH", description = "Prepared dataset (Parquet shards).")
  String data;

  @Option(names = "--output", required = true, paramLabel = "DIR", description = "Output directory (cells/ below it).")
  String output;

  @Option(names = "--targets", defaultValue = "0.5,0.6,0.7,0.8,0.9", paramLabel = "S,S,...",
      description = "Global sparsities, fractions of zeros (default ${DEFAULT-VALUE}).")
  String targets;

  @Option(names = "--methods", defaultValue = "uniform,erk,allocation,magnitude-nm,learned-nm", paramLabel = "M,M,...",
      description = "Methods (default ${DEFAULT-VALUE}; add str-bn for structured pruning).")
  String methods;

  @Option(names = "--resume", description = "Skip finished cells (and continue an interrupted learned cell).")
  boolean resume;

  @Option(names = "--overwrite", description = "Delete the previous comparison in --output and start again.")
  boolean overwrite;

  // ---- passed to every cell's sparsify run (unset: sparsify's defaults)
  @Option(names = "--n", description = "N of N:M (sparsify default 2).") Integer n;
  @Option(names = "--m", description = "M of N:M (sparsify default 4).") Integer m;
  @Option(names = "--calibration-size", description = "Training images for the learned methods.") Integer calibrationSize;
  @Option(names = "--epochs", description = "Passes over the calibration images.") Integer epochs;
  @Option(names = "--bn-recalibration", paramLabel = "IMAGES",
      description = "Re-estimate batch-norm statistics on this many training images in every masked cell (0 = off).")
  Integer bnRecalibration;
  @Option(names = "--batch-size", description = "Minibatch per worker step.") Integer batchSize;
  @Option(names = "--workers", description = "Workers per averaging round.") Integer workers;
  @Option(names = "--steps-per-round", description = "Steps per worker between averagings.") Integer stepsPerRound;
  @Option(names = "--lr", description = "Learning rate of every learned method (default: each method's own).") Double lr;
  @Option(names = "--weight-decay", description = "AdamW decay of the N:M logits.") Double weightDecay;
  @Option(names = "--tau", description = "Gumbel-softmax temperature.") Double tau;
  @Option(names = "--gamma-decay", description = "str-bn: L2 on the batch-norm gammas.") Double gammaDecay;
  @Option(names = "--threshold-init", description = "str-bn: initial threshold parameter s.") Double thresholdInit;
  @Option(names = "--threshold-decay", description = "str-bn: L2 on the thresholds s.") Double thresholdDecay;
  @Option(names = "--normalization", description = "unit | none: as the model was trained (default unit).") String normalization;
  @Option(names = "--train-split", description = "Calibration split (default train).") String trainSplit;
  @Option(names = "--test-split", description = "Evaluation split (default test).") String testSplit;
  @Option(names = "--max-test-examples", description = "Evaluate on at most this many test images.") Integer maxTestExamples;
  @Option(names = "--seed", description = "Seed of every cell.") Long seed;
  @Option(names = "--exclude-first-conv", description = "Keep the first convolution dense in every mask method's "
      + "cells (str-bn removes filters and is not affected).") boolean excludeFirstConv;
  @Option(names = "--batch-statistics", description = "learned-nm and allocation cells learn under batch statistics "
      + "(needs --bn-recalibration; see sparsify --batch-statistics).") boolean batchStatistics;

  @Option(names = "--spark-profile", defaultValue = "local", description = "sparkconf profile when not run under spark-submit.")
  String sparkProfile;

  PrintStream out = System.out;

  /** The validated options (throws {@link CompareException} naming the bad option). */
  CompareOptions options() {
    CompareOptions.Builder b = CompareOptions.builder().model(model).data(data).output(output)
        .targets(CompareOptions.parseTargets(targets)).methods(CompareOptions.parseMethods(methods)).resume(resume)
        .overwrite(overwrite);
    if (n != null || m != null) {
      int nn = n != null ? n : 2;
      int mm = m != null ? m : 4;
      b.sparsify("--n/--m", nn + ":" + mm, x -> x.nm(nn, mm));
    }
    if (calibrationSize != null) {
      b.sparsify("--calibration-size", calibrationSize, x -> x.calibrationSize(calibrationSize));
    }
    if (epochs != null) {
      b.sparsify("--epochs", epochs, x -> x.epochs(epochs));
    }
    if (bnRecalibration != null) {
      b.sparsify("--bn-recalibration", bnRecalibration, x -> x.bnRecalibration(bnRecalibration));
    }
    if (batchSize != null) {
      b.sparsify("--batch-size", batchSize, x -> x.batchSize(batchSize));
    }
    if (workers != null) {
      b.sparsify("--workers", workers, x -> x.workers(workers));
    }
    if (stepsPerRound != null) {
      b.sparsify("--steps-per-round", stepsPerRound, x -> x.stepsPerRound(stepsPerRound));
    }
    if (lr != null) {
      b.sparsify("--lr", lr, x -> x.learningRate(lr));
    }
    if (weightDecay != null) {
      b.sparsify("--weight-decay", weightDecay, x -> x.weightDecay(weightDecay));
    }
    if (tau != null) {
      b.sparsify("--tau", tau, x -> x.tau(tau));
    }
    if (gammaDecay != null) {
      b.sparsify("--gamma-decay", gammaDecay, x -> x.gammaDecay(gammaDecay));
    }
    if (thresholdInit != null) {
      b.sparsify("--threshold-init", thresholdInit, x -> x.thresholdInit(thresholdInit));
    }
    if (thresholdDecay != null) {
      b.sparsify("--threshold-decay", thresholdDecay, x -> x.thresholdDecay(thresholdDecay));
    }
    if (excludeFirstConv) {
      b.sparsify("--exclude-first-conv", true, x -> x.method().makesMasks() ? x.excludeFirstConv(true) : x);
    }
    if (batchStatistics) {
      b.sparsify("--batch-statistics", true, x -> x.method().learnsMasks() ? x.batchStatistics(true) : x);
    }
    if (normalization != null) {
      if (!normalization.equals("unit") && !normalization.equals("none")) {
        throw new CompareException("--normalization must be unit or none, got " + normalization);
      }
      boolean unit = normalization.equals("unit");
      b.sparsify("--normalization", normalization, x -> x.normalize(unit));
    }
    if (trainSplit != null) {
      b.sparsify("--train-split", trainSplit, x -> x.trainSplit(trainSplit));
    }
    if (testSplit != null) {
      b.sparsify("--test-split", testSplit, x -> x.testSplit(testSplit));
    }
    if (maxTestExamples != null) {
      b.sparsify("--max-test-examples", maxTestExamples, x -> x.maxTestExamples(maxTestExamples));
    }
    if (seed != null) {
      b.sparsify("--seed", seed, x -> x.seed(seed));
    }
    try {
      return b.build();
    } catch (SparsifyException e) {
      throw new CompareException(e.getMessage(), e);
    }
  }

  @Override
  public Integer call() {
    CompareOptions o = options(); // before any Spark work
    out.print(o);
    SparkSession spark = SparkSessions.getOrCreate("sparsetrain-compare", sparkProfile);
    CompareJob.run(spark, o, line -> {
      out.println(line);
      out.flush();
    });
    return 0;
  }
}
