package io.sparsetrain.jobs.sparsify;

import io.sparsetrain.learn.nm.GumbelNmMask;
import io.sparsetrain.learn.nm.NmPatterns;
import io.sparsetrain.learn.nm.TemperatureSchedule;
import io.sparsetrain.nn.strbn.StrBnOptions;
import io.sparsetrain.prune.nm.NmGroupOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The settings of one sparsify run, validated in one place ({@link Builder#build()}): every bad value is
 * reported with the option's name and the value. Immutable.
 */
public final class SparsifyOptions {
  public static final int DEFAULT_N = 2;
  public static final int DEFAULT_M = 4;
  /** Adam learning rate of the weights under --adjust-weights: "adjusted slightly". */
  public static final double DEFAULT_WEIGHT_LEARNING_RATE = 1e-4;
  /** The FCPTS paper's calibration set size. */
  public static final int DEFAULT_CALIBRATION_SIZE = 10_000;
  public static final int DEFAULT_EPOCHS = 1;
  public static final int DEFAULT_BATCH_SIZE = 32;
  /** Minibatch steps each worker takes between two averagings. */
  public static final int DEFAULT_STEPS_PER_ROUND = 4;
  /** Adam step on the mask logits. */
  public static final double DEFAULT_NM_LEARNING_RATE = 0.05;
  /** Adam step on the normalised thresholds ({@code ThresholdAllocator.DEFAULT_LEARNING_RATE}). */
  public static final double DEFAULT_ALLOCATION_LEARNING_RATE = 0.01;
  /** Decoupled weight decay of the logits (AdamW's default); thresholds get none. */
  public static final double DEFAULT_WEIGHT_DECAY = 0.01;
  public static final long DEFAULT_SEED = 42L;
  /** Largest allowed |achieved - target| of the allocation's global sparsity: 0.1 percentage point. */
  public static final double ALLOCATION_TOLERANCE = 0.001;

  /** STR-BN: Nesterov step on weights, gammas and thresholds (chosen on ResNet-20 / Fashion-MNIST, docs/sparsify.md). */
  public static final double DEFAULT_STRBN_LEARNING_RATE = 0.01;
  /** STR-BN: L2 on the batch-norm gammas, the pressure that kills filters in a short run. */
  public static final double DEFAULT_GAMMA_DECAY = 0.07;
  /** STR-BN: initial threshold parameter s of every layer (g(s) = sigmoid(s)). */
  public static final double DEFAULT_THRESHOLD_INIT = -2;
  /** STR-BN: L2 on the thresholds s. */
  public static final double DEFAULT_THRESHOLD_DECAY = 0.5;
  /** STR-BN: L2 on the other parameters (the STR-BN reference value). */
  public static final double DEFAULT_STRBN_WEIGHT_DECAY = StrBnOptions.DEFAULT_WEIGHT_DECAY;

  /** Temperature annealing of the Gumbel-softmax. */
  public enum Anneal { NONE, LINEAR, EXPONENTIAL }

  private final String model;
  private final String data;
  private final String output;
  private final SparsifyMethod method;
  private final Double target;
  private final int n;
  private final int m;
  private final int calibrationSize;
  private final int bnRecalibration;
  private final int epochs;
  private final int batchSize;
  private final int workers;
  private final int stepsPerRound;
  private final double tau;
  private final double tauFinal;
  private final Anneal anneal;
  private final boolean straightThrough;
  private final GumbelNmMask.Init logitInit;
  private final NmGroupOrder groupOrder;
  private final double learningRate;
  private final double weightDecay;
  private final double controlWeight;
  private final boolean adjustWeights;
  private final boolean batchStatistics;
  private final boolean distill;
  private final double distillWeight;
  private final List<String> exclude;
  private final boolean excludeFirstConv;
  private final double weightLearningRate;
  private final String allocationStart;
  private final Double controlScale;
  private final String masks;
  private final String trainSplit;
  private final String testSplit;
  private final boolean normalize;
  private final int maxTestExamples;
  private final long seed;
  private final boolean resume;
  private final boolean overwrite;
  private final int checkpointEveryRounds;
  private final double gammaDecay;
  private final double thresholdInit;
  private final double thresholdDecay;
  private final double strBnWeightDecay;
  private final int fineTuneEpochs;
  private final Double fineTuneLearningRate;
  private final double stopAtRemoved;
  private final int randomCropPadding;
  private final boolean horizontalFlip;

  private SparsifyOptions(Builder b) {
    model = b.model;
    data = b.data;
    output = b.output;
    method = b.method;
    target = b.target;
    n = b.n;
    m = b.m;
    calibrationSize = b.calibrationSize;
    bnRecalibration = b.bnRecalibration;
    epochs = b.epochs;
    batchSize = b.batchSize;
    workers = b.workers;
    stepsPerRound = b.stepsPerRound;
    tau = b.tau;
    tauFinal = b.tauFinal != null ? b.tauFinal : b.tau;
    anneal = b.anneal;
    straightThrough = b.straightThrough;
    logitInit = b.logitInit;
    groupOrder = b.groupOrder;
    learningRate = b.learningRate != null ? b.learningRate
        : b.method == SparsifyMethod.ALLOCATION ? DEFAULT_ALLOCATION_LEARNING_RATE
        : b.method == SparsifyMethod.STR_BN ? DEFAULT_STRBN_LEARNING_RATE : DEFAULT_NM_LEARNING_RATE;
    weightDecay = b.weightDecay;
    controlWeight = b.controlWeight;
    adjustWeights = b.adjustWeights;
    batchStatistics = b.batchStatistics;
    distill = b.distill;
    distillWeight = b.distillWeight;
    exclude = List.copyOf(b.exclude);
    excludeFirstConv = b.excludeFirstConv;
    weightLearningRate = b.weightLearningRate;
    allocationStart = b.allocationStart;
    controlScale = b.controlScale;
    masks = b.masks;
    trainSplit = b.trainSplit;
    testSplit = b.testSplit;
    normalize = b.normalize;
    maxTestExamples = b.maxTestExamples;
    seed = b.seed;
    resume = b.resume;
    overwrite = b.overwrite;
    checkpointEveryRounds = b.checkpointEveryRounds;
    gammaDecay = b.gammaDecay;
    thresholdInit = b.thresholdInit;
    thresholdDecay = b.thresholdDecay;
    strBnWeightDecay = b.strBnWeightDecay;
    fineTuneEpochs = b.fineTuneEpochs;
    fineTuneLearningRate = b.fineTuneLearningRate;
    stopAtRemoved = b.stopAtRemoved;
    randomCropPadding = b.randomCropPadding;
    horizontalFlip = b.horizontalFlip;
  }

  public static Builder builder() {
    return new Builder();
  }

  public String model() { return model; }
  public String data() { return data; }
  public String output() { return output; }
  public SparsifyMethod method() { return method; }
  /** Global target sparsity (fraction of zeros) for uniform / erk / allocation; for N:M methods 1 - N/M. */
  public double target() { return target != null ? target : 1 - n / (double) m; }
  public int n() { return n; }
  public int m() { return m; }
  public int calibrationSize() { return calibrationSize; }
  /**
   * Training images used to re-estimate batch-norm statistics of every masked model evaluated, 0 = off (str-bn,
   * which learns the batch-norm layers themselves, does not use it).
   */
  public int bnRecalibration() { return bnRecalibration; }
  public int epochs() { return epochs; }
  public int batchSize() { return batchSize; }
  /** Workers (partitions) per averaging round; 0 = Spark's default parallelism. */
  public int workers() { return workers; }
  public int stepsPerRound() { return stepsPerRound; }
  public double tau() { return tau; }
  public double tauFinal() { return tauFinal; }
  public Anneal anneal() { return anneal; }
  public boolean straightThrough() { return straightThrough; }
  public GumbelNmMask.Init logitInit() { return logitInit; }

  /** learned-nm, magnitude-nm: which weights form an N:M group (kernel: along K as stored; channel: input channels at one tap). */
  public NmGroupOrder groupOrder() { return groupOrder; }
  public double learningRate() { return learningRate; }
  public double weightDecay() { return weightDecay; }
  public double controlWeight() { return controlWeight; }
  /** allocation: train the weights of the pruned layers too (METHODS.md section 3's option), else frozen. */
  public boolean adjustWeights() { return adjustWeights; }
  /**
   * learned-nm / allocation: batch norm normalises each calibration minibatch with its own statistics while the
   * masks are learned (else with the dense model's running statistics, frozen); needs {@link #bnRecalibration()}.
   */
  public boolean batchStatistics() { return batchStatistics; }
  /** learned-nm: learn the masks on KL(softmax(dense) || softmax(sparse)) instead of the labels' cross-entropy. */
  public boolean distill() { return distill; }
  /** str-bn with {@link #distill()}: the original model's share of the targets. */
  public double distillWeight() { return distillWeight; }
  /** Sparse layers kept dense by name (the methods and their baselines leave them out); empty by default. */
  public List<String> exclude() { return exclude; }
  /** Keep the network's first convolution dense, as the train job does by default ({@code pruning.exclude-first-conv}). */
  public boolean excludeFirstConv() { return excludeFirstConv; }
  /** allocation with {@link #adjustWeights()}: Adam learning rate of the weights. */
  public double weightLearningRate() { return weightLearningRate; }
  /** Allocation start: best (lower calibration L_rec of uniform and erk), uniform, erk or kde. */
  public String allocationStart() { return allocationStart; }
  /** Allocation control scale lambda_0; null = calibrated from the reconstruction gradient ("auto"). */
  public Double controlScale() { return controlScale; }
  /** The mask file of {@code --method apply}, else null. */
  public String masks() { return masks; }
  public String trainSplit() { return trainSplit; }
  public String testSplit() { return testSplit; }
  /** Whether pixels are scaled to [0, 1] (the train job's {@code normalization = unit}). */
  public boolean normalize() { return normalize; }
  public int maxTestExamples() { return maxTestExamples; }
  public long seed() { return seed; }
  public boolean resume() { return resume; }
  public boolean overwrite() { return overwrite; }
  public int checkpointEveryRounds() { return checkpointEveryRounds; }
  /** STR-BN: L2 coefficient on the batch-norm gammas. */
  public double gammaDecay() { return gammaDecay; }
  /** STR-BN: initial s of every layer's threshold g(s) = sigmoid(s). */
  public double thresholdInit() { return thresholdInit; }
  /** STR-BN: L2 coefficient on the thresholds s. */
  public double thresholdDecay() { return thresholdDecay; }
  /** STR-BN: L2 coefficient on weights, biases and beta. */
  public double strBnWeightDecay() { return strBnWeightDecay; }
  /** str-bn: epochs of plain training of the smaller model after the removal. */
  public int fineTuneEpochs() { return fineTuneEpochs; }
  /** str-bn: the fine-tune's base learning rate, or null for {@link #learningRate()}. */
  public Double fineTuneLearningRate() { return fineTuneLearningRate; }
  /** str-bn: end the STR-BN phase once this fraction of the filters is removable (0 = off). */
  public double stopAtRemoved() { return stopAtRemoved; }
  /** str-bn: random-crop padding of the training minibatches (0 = off). */
  public int randomCropPadding() { return randomCropPadding; }
  /** str-bn: random horizontal flips of the training minibatches. */
  public boolean horizontalFlip() { return horizontalFlip; }

  /** The core STR-BN settings of this run: Nesterov momentum 0.875, cosine decay of {@link #learningRate()}. */
  public StrBnOptions strBnOptions() {
    return StrBnOptions.builder().epochs(epochs).learningRate(learningRate).gammaDecay(gammaDecay)
        .initialS(thresholdInit).thresholdDecay(thresholdDecay).weightDecay(strBnWeightDecay)
        .fineTuneEpochs(fineTuneEpochs).fineTuneLearningRate(fineTuneLearningRate)
        .stopAtRemoved(stopAtRemoved).distillWeight(distill ? distillWeight : 0).build();
  }

  /** The temperature per optimizer step, annealed over {@code totalSteps}. */
  public TemperatureSchedule temperature(long totalSteps) {
    switch (anneal) {
      case LINEAR:
        return TemperatureSchedule.linear(tau, tauFinal, Math.max(1, totalSteps));
      case EXPONENTIAL:
        return TemperatureSchedule.exponential(tau, tauFinal, Math.max(1, totalSteps));
      default:
        return TemperatureSchedule.constant(tau);
    }
  }

  /** Every setting, for sparsify.json and the job log. */
  public Map<String, Object> asMap() {
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("model", model);
    o.put("data", data);
    o.put("output", output);
    o.put("method", method.cliName());
    o.put("target", target());
    o.put("n", n);
    o.put("m", m);
    o.put("calibrationSize", calibrationSize);
    o.put("bnRecalibration", bnRecalibration);
    o.put("epochs", epochs);
    o.put("batchSize", batchSize);
    o.put("workers", workers);
    o.put("stepsPerRound", stepsPerRound);
    o.put("tau", tau);
    o.put("tauFinal", tauFinal);
    o.put("anneal", anneal.name().toLowerCase(Locale.ROOT));
    o.put("straightThrough", straightThrough);
    o.put("logitInit", logitInit.name().toLowerCase(Locale.ROOT));
    o.put("nmGroups", groupOrder.label());
    o.put("learningRate", learningRate);
    o.put("weightDecay", weightDecay);
    o.put("controlWeight", controlWeight);
    o.put("adjustWeights", adjustWeights);
    o.put("batchStatistics", batchStatistics);
    if (method == SparsifyMethod.LEARNED_NM || method == SparsifyMethod.STR_BN) {
      o.put("distill", distill);
    }
    o.put("exclude", exclude);
    o.put("excludeFirstConv", excludeFirstConv);
    if (adjustWeights) {
      o.put("weightLearningRate", weightLearningRate);
    }
    o.put("allocationStart", allocationStart);
    o.put("controlScale", controlScale == null ? "auto" : controlScale);
    o.put("masks", masks);
    o.put("trainSplit", trainSplit);
    o.put("testSplit", testSplit);
    o.put("normalization", normalize ? "unit" : "none");
    o.put("maxTestExamples", maxTestExamples);
    o.put("seed", seed);
    o.put("checkpointEveryRounds", checkpointEveryRounds);
    if (method == SparsifyMethod.STR_BN) {
      o.put("gammaDecay", gammaDecay);
      o.put("thresholdInit", thresholdInit);
      o.put("thresholdDecay", thresholdDecay);
      o.put("strBnWeightDecay", strBnWeightDecay);
      o.put("fineTuneEpochs", fineTuneEpochs);
      o.put("fineTuneLearningRate", fineTuneLearningRate != null ? fineTuneLearningRate : learningRate());
      o.put("stopAtRemoved", stopAtRemoved);
      o.put("randomCropPadding", randomCropPadding);
      o.put("horizontalFlip", horizontalFlip);
      if (distill) {
        o.put("distillWeight", distillWeight);
      }
    }
    return o;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("sparsify options:\n");
    asMap().forEach((k, v) -> sb.append("  ").append(k).append(" = ").append(v).append('\n'));
    return sb.toString();
  }

  /** Builder; model, data, output and method are required. */
  public static final class Builder {
    private String model;
    private String data;
    private String output;
    private SparsifyMethod method;
    private Double target;
    private int n = DEFAULT_N;
    private int m = DEFAULT_M;
    private int calibrationSize = DEFAULT_CALIBRATION_SIZE;
    private int bnRecalibration;
    private int epochs = DEFAULT_EPOCHS;
    private int batchSize = DEFAULT_BATCH_SIZE;
    private int workers;
    private int stepsPerRound = DEFAULT_STEPS_PER_ROUND;
    private double tau = TemperatureSchedule.DEFAULT_TAU;
    private Double tauFinal;
    private Anneal anneal = Anneal.NONE;
    private boolean straightThrough;
    private GumbelNmMask.Init logitInit = GumbelNmMask.Init.MAGNITUDE;
    private NmGroupOrder groupOrder = NmGroupOrder.KERNEL;
    private Double learningRate;
    private double weightDecay = DEFAULT_WEIGHT_DECAY;
    private double controlWeight = 1.0;
    private boolean adjustWeights;
    private boolean batchStatistics;
    private boolean distill;
    private double distillWeight = 1.0;
    private List<String> exclude = List.of();
    private boolean excludeFirstConv;
    private double weightLearningRate = DEFAULT_WEIGHT_LEARNING_RATE;
    private String allocationStart = "best";
    private Double controlScale;
    private String masks;
    private String trainSplit = "train";
    private String testSplit = "test";
    private boolean normalize = true;
    private int maxTestExamples;
    private long seed = DEFAULT_SEED;
    private boolean resume;
    private boolean overwrite;
    private int checkpointEveryRounds = 20;
    private double gammaDecay = DEFAULT_GAMMA_DECAY;
    private double thresholdInit = DEFAULT_THRESHOLD_INIT;
    private double thresholdDecay = DEFAULT_THRESHOLD_DECAY;
    private double strBnWeightDecay = DEFAULT_STRBN_WEIGHT_DECAY;
    private int fineTuneEpochs;
    private Double fineTuneLearningRate;
    private double stopAtRemoved;
    private int randomCropPadding;
    private boolean horizontalFlip;

    private Builder() {}

    public Builder model(String v) { model = v; return this; }
    public Builder data(String v) { data = v; return this; }
    public Builder output(String v) { output = v; return this; }
    public Builder method(SparsifyMethod v) { method = v; return this; }
    public Builder method(String v) { method = SparsifyMethod.fromCli(v); return this; }
    /** The method set so far (null before {@link #method}): lets a caller set method-specific options. */
    public SparsifyMethod method() { return method; }
    public Builder target(Double v) { target = v; return this; }
    public Builder nm(int n, int m) { this.n = n; this.m = m; return this; }
    public Builder calibrationSize(int v) { calibrationSize = v; return this; }
    public Builder bnRecalibration(int v) { bnRecalibration = v; return this; }
    public Builder epochs(int v) { epochs = v; return this; }
    public Builder batchSize(int v) { batchSize = v; return this; }
    public Builder workers(int v) { workers = v; return this; }
    public Builder stepsPerRound(int v) { stepsPerRound = v; return this; }
    public Builder tau(double v) { tau = v; return this; }
    public Builder tauFinal(Double v) { tauFinal = v; return this; }
    public Builder anneal(Anneal v) { anneal = Objects.requireNonNull(v, "anneal"); return this; }
    public Builder straightThrough(boolean v) { straightThrough = v; return this; }
    public Builder logitInit(GumbelNmMask.Init v) { logitInit = Objects.requireNonNull(v, "logitInit"); return this; }
    public Builder groupOrder(NmGroupOrder v) { groupOrder = Objects.requireNonNull(v, "groupOrder"); return this; }
    public Builder learningRate(Double v) { learningRate = v; return this; }
    public Builder weightDecay(double v) { weightDecay = v; return this; }
    public Builder controlWeight(double v) { controlWeight = v; return this; }
    public Builder adjustWeights(boolean v) { adjustWeights = v; return this; }
    public Builder batchStatistics(boolean v) { batchStatistics = v; return this; }
    public Builder distill(boolean v) { distill = v; return this; }
    public Builder distillWeight(double v) { distillWeight = v; return this; }
    public Builder exclude(List<String> v) { exclude = v == null ? List.of() : v; return this; }
    public Builder excludeFirstConv(boolean v) { excludeFirstConv = v; return this; }
    public Builder weightLearningRate(double v) { weightLearningRate = v; return this; }
    public Builder allocationStart(String v) { allocationStart = v; return this; }
    public Builder controlScale(Double v) { controlScale = v; return this; }
    public Builder masks(String v) { masks = v; return this; }
    public Builder trainSplit(String v) { trainSplit = v; return this; }
    public Builder testSplit(String v) { testSplit = v; return this; }
    public Builder normalize(boolean v) { normalize = v; return this; }
    public Builder maxTestExamples(int v) { maxTestExamples = v; return this; }
    public Builder seed(long v) { seed = v; return this; }
    public Builder resume(boolean v) { resume = v; return this; }
    public Builder overwrite(boolean v) { overwrite = v; return this; }
    public Builder checkpointEveryRounds(int v) { checkpointEveryRounds = v; return this; }
    public Builder gammaDecay(double v) { gammaDecay = v; return this; }
    public Builder thresholdInit(double v) { thresholdInit = v; return this; }
    public Builder thresholdDecay(double v) { thresholdDecay = v; return this; }
    public Builder strBnWeightDecay(double v) { strBnWeightDecay = v; return this; }
    public Builder fineTuneEpochs(int v) { fineTuneEpochs = v; return this; }
    public Builder fineTuneLearningRate(Double v) { fineTuneLearningRate = v; return this; }
    public Builder stopAtRemoved(double v) { stopAtRemoved = v; return this; }
    public Builder randomCropPadding(int v) { randomCropPadding = v; return this; }
    public Builder horizontalFlip(boolean v) { horizontalFlip = v; return this; }

    private static void require(boolean ok, String message) {
      if (!ok) {
        throw new SparsifyException(message);
      }
    }

    private static boolean positiveFinite(double v) {
      return v > 0 && !Double.isInfinite(v);
    }

    public SparsifyOptions build() {
      require(method != null, "--method is required; one of " + SparsifyMethod.names());
      require(model != null && !model.isBlank(), "--model is required (a DL4J model zip or a train job's output dir)");
      require(output != null && !output.isBlank(), "--output is required");
      require(data != null && !data.isBlank(), "--data is required (a prepared dataset: its test split is evaluated"
          + (method.isLearned() ? ", its train split calibrates)" : ")"));
      if (method.needsTarget()) {
        require(target != null, "--method " + method + " needs --target (global fraction of zeros, e.g. 0.7)");
        require(target > 0 && target < 1, "--target must be in (0, 1) (a fraction of zeros, not a percentage), got "
            + target);
      } else if (target != null) {
        throw new SparsifyException("--target does not apply to --method " + method + (method.isNm()
            ? ": an N:M mask's sparsity is 1 - N/M (" + (1 - n / (double) m) + " for " + n + ":" + m + "); set --n/--m"
            : method == SparsifyMethod.STR_BN ? ": STR-BN removes the filters whose batch-norm gamma dies; steer it with "
            + "--gamma-decay, --threshold-init and --threshold-decay" : ": the mask file sets the sparsity"));
      }
      try {
        NmPatterns.of(n, m);
      } catch (IllegalArgumentException e) {
        throw new SparsifyException("--n/--m: " + e.getMessage());
      }
      require((method == SparsifyMethod.APPLY) == (masks != null), method == SparsifyMethod.APPLY
          ? "--method apply needs --masks FILE (a mask set written by sparsify or train)"
          : "--masks is only used by --method apply");
      require(calibrationSize >= 1, "--calibration-size must be >= 1, got " + calibrationSize);
      require(bnRecalibration >= 0, "--bn-recalibration must be >= 0 (0 = off), got " + bnRecalibration);
      require(epochs >= 1, "--epochs must be >= 1, got " + epochs);
      require(batchSize >= 1, "--batch-size must be >= 1, got " + batchSize);
      require(workers >= 0, "--workers must be >= 0 (0 = Spark's default parallelism), got " + workers);
      require(stepsPerRound >= 1, "--steps-per-round must be >= 1, got " + stepsPerRound);
      require(positiveFinite(tau), "--tau must be finite and > 0, got " + tau);
      require(tauFinal == null || positiveFinite(tauFinal), "--tau-final must be finite and > 0, got " + tauFinal);
      require(tauFinal == null || anneal != Anneal.NONE || tauFinal == tau,
          "--tau-final needs --anneal linear or exponential");
      require(learningRate == null || positiveFinite(learningRate), "--lr must be finite and > 0, got " + learningRate);
      require(weightDecay >= 0 && !Double.isInfinite(weightDecay), "--weight-decay must be finite and >= 0, got "
          + weightDecay);
      require(controlWeight >= 0 && !Double.isInfinite(controlWeight), "--control-weight must be finite and >= 0, got "
          + controlWeight);
      require(!adjustWeights || method == SparsifyMethod.ALLOCATION,
          "--adjust-weights is for --method allocation (learned-nm keeps the trained weights by design)");
      require(!distill || method == SparsifyMethod.LEARNED_NM || method == SparsifyMethod.STR_BN, "--distill is for "
          + "--method learned-nm or str-bn (allocation always learns on the KL to the dense model's outputs)");
      require(distillWeight > 0 && distillWeight <= 1, "--distill-weight must be in (0, 1], got " + distillWeight);
      require(distillWeight == 1.0 || (distill && method == SparsifyMethod.STR_BN),
          "--distill-weight is for --method str-bn with --distill");
      require(groupOrder == NmGroupOrder.KERNEL || method == SparsifyMethod.LEARNED_NM
          || method == SparsifyMethod.MAGNITUDE_NM, "--nm-groups " + groupOrder.label()
          + " is for --method learned-nm or magnitude-nm");
      require(!batchStatistics || method.learnsMasks(),
          "--batch-statistics is for --method learned-nm or allocation");
      require(!batchStatistics || bnRecalibration > 0, "--batch-statistics needs --bn-recalibration IMAGES: the masks "
          + "are fitted to the masked network's own batch statistics, so its running statistics must be re-estimated");
      require((exclude.isEmpty() && !excludeFirstConv) || method.makesMasks(), "--exclude and --exclude-first-conv are "
          + "for the mask methods (" + (method == SparsifyMethod.APPLY ? "--method apply applies the mask file as it is"
          : "str-bn removes filters, it does not mask weights") + ")");
      for (String e : exclude) {
        require(e != null && !e.isBlank(), "--exclude must list layer names, got an empty name in " + exclude);
      }
      require(positiveFinite(weightLearningRate), "--weight-lr must be finite and > 0, got " + weightLearningRate);
      require(List.of("best", "uniform", "erk", "kde").contains(allocationStart),
          "--allocation-start must be best, uniform, erk or kde, got " + allocationStart);
      require(controlScale == null || positiveFinite(controlScale), "--control-scale must be auto or finite and > 0, got "
          + controlScale);
      require(maxTestExamples >= 0, "--max-test-examples must be >= 0 (0 = all), got " + maxTestExamples);
      require(checkpointEveryRounds >= 1, "--checkpoint-every must be >= 1, got " + checkpointEveryRounds);
      require(gammaDecay >= 0 && !Double.isInfinite(gammaDecay), "--gamma-decay must be finite and >= 0, got " + gammaDecay);
      require(Double.isFinite(thresholdInit), "--threshold-init must be finite, got " + thresholdInit);
      require(thresholdDecay >= 0 && !Double.isInfinite(thresholdDecay), "--threshold-decay must be finite and >= 0, got "
          + thresholdDecay);
      require(strBnWeightDecay >= 0 && !Double.isInfinite(strBnWeightDecay),
          "--strbn-weight-decay must be finite and >= 0, got " + strBnWeightDecay);
      require(fineTuneEpochs >= 0, "--finetune-epochs must be >= 0, got " + fineTuneEpochs);
      require(fineTuneEpochs == 0 || method == SparsifyMethod.STR_BN,
          "--finetune-epochs is for --method str-bn (the mask methods keep the trained weights)");
      require(fineTuneLearningRate == null || positiveFinite(fineTuneLearningRate),
          "--finetune-lr must be finite and > 0, got " + fineTuneLearningRate);
      require(fineTuneLearningRate == null || fineTuneEpochs > 0, "--finetune-lr needs --finetune-epochs > 0");
      require(stopAtRemoved >= 0 && stopAtRemoved < 1, "--stop-at-removed must be in [0, 1) (0 = off), got " + stopAtRemoved);
      require(stopAtRemoved == 0 || method == SparsifyMethod.STR_BN, "--stop-at-removed is for --method str-bn");
      require(randomCropPadding >= 0, "--random-crop-padding must be >= 0, got " + randomCropPadding);
      require((randomCropPadding == 0 && !horizontalFlip) || method == SparsifyMethod.STR_BN,
          "--random-crop-padding and --horizontal-flip are for --method str-bn (the only method that trains weights on "
          + "the driver)");
      return new SparsifyOptions(this);
    }
  }
}
