package io.sparsetrain.jobs.sparsify;

import io.sparsetrain.learn.nm.GumbelNmMask;
import io.sparsetrain.prune.nm.NmGroupOrder;
import io.sparsetrain.sparkconf.SparkSessions;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sparsify}: post-training masks for a trained model; see docs/sparsify.md. */
@Command(name = "sparsify", mixinStandardHelpOptions = true,
    description = "Sparsifies a trained DL4J model after training: learned N:M masks (learned-nm), learned per-layer "
        + "allocation at an exact global rate (allocation), or the magnitude-nm / uniform / erk baselines; apply "
        + "re-applies a mask file; str-bn removes whole filters (a smaller dense model). Writes the sparse model, the masks, sparsify.json and report.html.")
public final class SparsifyCommand implements Callable<Integer> {

  @Option(names = "--model", required = true, paramLabel = "PATH",
      description = "DL4J model zip, a train job's output dir (latest checkpoint) or a checkpoint dir.")
  String model;

  @Option(names = "--data", required = true, paramLabel = "PATH", description = "Prepared dataset (Parquet shards).")
  String data;

  @Option(names = "--output", required = true, paramLabel = "DIR", description = "Output directory.")
  String output;

  @Option(names = "--method", required = true, paramLabel = "NAME",
      description = "learned-nm | allocation | magnitude-nm | uniform | erk | apply | str-bn.")
  String method;

  @Option(names = "--target", paramLabel = "S", description = "Global sparsity, fraction of zeros in (0, 1) "
      + "(allocation, uniform, erk).")
  Double target;

  @Option(names = "--n", defaultValue = "2", description = "N of N:M (default ${DEFAULT-VALUE}).")
  int n;

  @Option(names = "--m", defaultValue = "4", description = "M of N:M (default ${DEFAULT-VALUE}).")
  int m;

  @Option(names = "--masks", paramLabel = "FILE", description = "Mask set to apply (--method apply).")
  String masks;

  @Option(names = "--calibration-size", defaultValue = "10000",
      description = "Training images used to learn masks (default ${DEFAULT-VALUE}).")
  int calibrationSize;

  @Option(names = "--bn-recalibration", paramLabel = "IMAGES", defaultValue = "0",
      description = "Re-estimate batch-norm running statistics on this many training images after masking, for the "
          + "result and every baseline alike (0 = off, default ${DEFAULT-VALUE}; weights untouched).")
  int bnRecalibration;

  @Option(names = "--epochs", defaultValue = "1", description = "Passes over the calibration images (default ${DEFAULT-VALUE}).")
  int epochs;

  @Option(names = "--batch-size", defaultValue = "32", description = "Minibatch per worker step (default ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--workers", defaultValue = "0", description = "Workers per round (0 = Spark default parallelism).")
  int workers;

  @Option(names = "--steps-per-round", defaultValue = "4",
      description = "Minibatch steps per worker between averagings (default ${DEFAULT-VALUE}).")
  int stepsPerRound;

  @Option(names = "--tau", defaultValue = "1.0", description = "Gumbel-softmax temperature (default ${DEFAULT-VALUE}).")
  double tau;

  @Option(names = "--tau-final", description = "Final temperature with --anneal.")
  Double tauFinal;

  @Option(names = "--anneal", defaultValue = "none", description = "none | linear | exponential temperature annealing.")
  String anneal;

  @Option(names = "--straight-through", description = "Hard one-hot forward, soft backward (learned-nm).")
  boolean straightThrough;

  @Option(names = "--logit-init", defaultValue = "magnitude",
      description = "magnitude | glorot initial N:M logits (default ${DEFAULT-VALUE}).")
  String logitInit;

  @Option(names = "--nm-groups", defaultValue = "kernel", paramLabel = "ORDER",
      description = "learned-nm, magnitude-nm: kernel (M consecutive weights along Cin*kh*kw, default) | channel "
      + "(M input channels at the same kernel position, as Apex ASP and NVIDIA's 2:4 hardware group them).")
  String nmGroups;

  @Option(names = "--lr", description = "Adam(W) learning rate (default 0.05 for logits, 0.01 for thresholds); "
      + "str-bn: Nesterov learning rate with cosine decay (default 0.01).")
  Double learningRate;

  @Option(names = "--weight-decay", defaultValue = "0.01", description = "AdamW decay of the logits (default ${DEFAULT-VALUE}).")
  double weightDecay;

  @Option(names = "--control-weight", defaultValue = "1.0", description = "Weight of the control loss (allocation).")
  double controlWeight;

  @Option(names = "--adjust-weights", description = "allocation: train the pruned layers' weights on L_rec too "
      + "(Adam at --weight-lr), else they stay frozen (default).")
  boolean adjustWeights;

  @Option(names = "--batch-statistics", description = "learned-nm, allocation: while the masks are learned, batch "
      + "norm normalises each minibatch with its own statistics (as in training) instead of the dense model's running "
      + "statistics, so the masks fit the statistics the masked network produces; needs --bn-recalibration.")
  boolean batchStatistics;

  @Option(names = "--distill", description = "learned-nm: learn the masks on KL(softmax(dense) || softmax(sparse)) "
      + "against the dense model's outputs (as allocation does) instead of cross-entropy with the labels. str-bn: "
      + "train both phases towards the original model's probabilities on the same (augmented) images, mixed with "
      + "the labels by --distill-weight.")
  boolean distill;

  @Option(names = "--distill-weight", defaultValue = "1.0", description = "str-bn with --distill: targets are "
      + "(1 - W) labels + W original model's probabilities (default ${DEFAULT-VALUE}).")
  double distillWeight;

  @Option(names = "--exclude", split = ",", paramLabel = "LAYER",
      description = "Sparse layers to keep dense, comma-separated names (learned-nm, allocation and the magnitude "
          + "methods; their baselines leave the same layers out).")
  List<String> exclude = new ArrayList<>();

  @Option(names = "--exclude-first-conv", description = "Keep the first convolution dense (the train job's default; "
      + "for a 1-channel image it has 9 weights per filter, which 2:4 cuts to 5).")
  boolean excludeFirstConv;

  @Option(names = "--weight-lr", defaultValue = "1e-4",
      description = "allocation --adjust-weights: learning rate of the weights (default ${DEFAULT-VALUE}).")
  double weightLearningRate;

  @Option(names = "--allocation-start", defaultValue = "best",
      description = "best | uniform | erk | kde: where the thresholds start (allocation; best = lower calibration L_rec).")
  String allocationStart;

  @Option(names = "--control-scale", defaultValue = "auto",
      description = "auto | lambda_0 > 0: scale of the control loss (allocation; auto = calibrated).")
  String controlScale;

  @Option(names = "--gamma-decay", defaultValue = "0.07",
      description = "str-bn: L2 on the batch-norm gammas, what makes filters die (default ${DEFAULT-VALUE}).")
  double gammaDecay;

  @Option(names = "--threshold-init", defaultValue = "-2",
      description = "str-bn: initial s of the threshold sigmoid(s) (default ${DEFAULT-VALUE}).")
  double thresholdInit;

  @Option(names = "--threshold-decay", defaultValue = "0.5",
      description = "str-bn: L2 on the thresholds s (default ${DEFAULT-VALUE}).")
  double thresholdDecay;

  @Option(names = "--strbn-weight-decay", defaultValue = "3.0517578125e-5",
      description = "str-bn: L2 on weights, biases and beta (default ${DEFAULT-VALUE}, the STR-BN reference).")
  double strBnWeightDecay;

  @Option(names = "--finetune-epochs", defaultValue = "0",
      description = "str-bn: epochs of plain training of the smaller model after the removal, no sparsity pressure "
          + "(default ${DEFAULT-VALUE}).")
  int fineTuneEpochs;

  @Option(names = "--random-crop-padding", defaultValue = "0", description = "str-bn: the train job's augmentation, "
      + "random crops after zero padding of this many pixels, drawn afresh every epoch; with it or --horizontal-flip "
      + "every epoch also visits the minibatches in a fresh order (default ${DEFAULT-VALUE} = off).")
  int randomCropPadding;

  @Option(names = "--horizontal-flip", description = "str-bn: random horizontal flips, drawn afresh every epoch.")
  boolean horizontalFlip;

  @Option(names = "--stop-at-removed", defaultValue = "0", description = "str-bn: end the STR-BN phase as soon as this "
      + "fraction of the filters can be removed (checked every 25 steps; 0 = run all --epochs).")
  double stopAtRemoved;

  @Option(names = "--finetune-lr", description = "str-bn: base learning rate of the fine-tune (its own cosine decay; "
      + "default: --lr).")
  Double fineTuneLearningRate;

  @Option(names = "--train-split", defaultValue = "train") String trainSplit;
  @Option(names = "--test-split", defaultValue = "test") String testSplit;

  @Option(names = "--normalization", defaultValue = "unit", description = "unit | none: as the model was trained.")
  String normalization;

  @Option(names = "--max-test-examples", defaultValue = "0", description = "Evaluate on at most this many (0 = all).")
  int maxTestExamples;

  @Option(names = "--seed", defaultValue = "42") long seed;

  @Option(names = "--checkpoint-every", defaultValue = "20", description = "Checkpoint every N rounds (and each epoch end).")
  int checkpointEvery;

  @Option(names = "--resume", description = "Continue from the checkpoint in --output.")
  boolean resume;

  @Option(names = "--overwrite", description = "Replace a finished run in --output.")
  boolean overwrite;

  @Option(names = "--spark-profile", defaultValue = "local", description = "sparkconf profile when not run under spark-submit.")
  String sparkProfile;

  PrintStream out = System.out;

  /** The validated options (throws {@link SparsifyException} naming the bad option). */
  SparsifyOptions options() {
    SparsifyOptions.Anneal a;
    try {
      a = SparsifyOptions.Anneal.valueOf(anneal.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new SparsifyException("--anneal must be none, linear or exponential, got " + anneal);
    }
    GumbelNmMask.Init init;
    try {
      init = GumbelNmMask.Init.valueOf(logitInit.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new SparsifyException("--logit-init must be magnitude or glorot, got " + logitInit);
    }
    NmGroupOrder groupOrder;
    try {
      groupOrder = NmGroupOrder.parse(nmGroups);
    } catch (IllegalArgumentException e) {
      throw new SparsifyException("--nm-groups: " + e.getMessage());
    }
    if (!normalization.equals("unit") && !normalization.equals("none")) {
      throw new SparsifyException("--normalization must be unit or none, got " + normalization);
    }
    Double scale;
    try {
      scale = controlScale.equals("auto") ? null : Double.valueOf(controlScale);
    } catch (NumberFormatException e) {
      throw new SparsifyException("--control-scale must be auto or a number, got " + controlScale);
    }
    return SparsifyOptions.builder().model(model).data(data).output(output).method(method).target(target).nm(n, m)
        .masks(masks).calibrationSize(calibrationSize).bnRecalibration(bnRecalibration).epochs(epochs)
        .batchSize(batchSize).workers(workers)
        .stepsPerRound(stepsPerRound).tau(tau).tauFinal(tauFinal).anneal(a).straightThrough(straightThrough)
        .logitInit(init).groupOrder(groupOrder).learningRate(learningRate).weightDecay(weightDecay).controlWeight(controlWeight)
        .adjustWeights(adjustWeights).batchStatistics(batchStatistics).distill(distill).distillWeight(distillWeight).exclude(exclude)
        .excludeFirstConv(excludeFirstConv).weightLearningRate(weightLearningRate)
        .allocationStart(allocationStart).controlScale(scale)
        .trainSplit(trainSplit).testSplit(testSplit).normalize(normalization.equals("unit"))
        .maxTestExamples(maxTestExamples).seed(seed).checkpointEveryRounds(checkpointEvery).resume(resume)
        .overwrite(overwrite).gammaDecay(gammaDecay).thresholdInit(thresholdInit).thresholdDecay(thresholdDecay)
        .strBnWeightDecay(strBnWeightDecay).fineTuneEpochs(fineTuneEpochs)
        .fineTuneLearningRate(fineTuneLearningRate).stopAtRemoved(stopAtRemoved)
        .randomCropPadding(randomCropPadding).horizontalFlip(horizontalFlip).build();
  }

  @Override
  public Integer call() {
    SparsifyOptions o = options(); // before any Spark work
    out.print(o);
    SparkSession spark = SparkSessions.getOrCreate("sparsetrain-sparsify-" + o.method(), sparkProfile);
    SparsifyJob.run(spark, o, line -> {
      out.println(line);
      out.flush();
    });
    return 0;
  }
}
