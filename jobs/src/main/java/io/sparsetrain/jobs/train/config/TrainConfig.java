package io.sparsetrain.jobs.train.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.io.File;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Every setting of one training run, validated. The schema, with a comment and default for every key, is the
 * classpath resource {@value #REFERENCE_RESOURCE}; recipes set only what differs. Immutable; build with
 * {@link #builder()} or read with {@link #load} / {@link #from(Config)}. All checks live in
 * {@link Builder#build()}; {@link #from(Config)} adds where each bad value came from, e.g.
 * {@code train.schedule.final-sparsity must be in [0, 1), got 1.3 (from x.conf: 12)}.
 *
 * <p>Units: sparsities are fractions of zeros in [0, 1); epochs are 0-based indices or counts of full passes;
 * batch sizes count images; the learning rate is per optimizer step; one schedule step is one averaging round.
 */
public final class TrainConfig {
  /** Classpath resource holding the documented schema and its defaults. */
  public static final String REFERENCE_RESOURCE = "recipes/reference-train.conf";
  /** Root key of the schema. */
  public static final String ROOT = "train";

  public static final String DEFAULT_NAME = "train";
  public static final long DEFAULT_SEED = 42L;
  public static final int DEFAULT_EPOCHS = 10;
  public static final ModelSource DEFAULT_MODEL_SOURCE = ModelSource.BUILDER;
  public static final String DEFAULT_MODEL_BUILDER = "lenet5";
  /** Model builders of {@code train.model.builder}. */
  public static final List<String> MODEL_BUILDERS = List.of("resnet20", "resnet32", "resnet56", "resnet18", "lenet5",
      "tiny-cnn");
  public static final String DEFAULT_MODEL_LAYERS = "sparse";
  public static final String DEFAULT_TRAIN_SPLIT = "train";
  public static final String DEFAULT_TEST_SPLIT = "test";
  public static final String DEFAULT_NORMALIZATION = "unit";
  public static final int DEFAULT_EVAL_BATCH_SIZE = 256;
  public static final Optimizer DEFAULT_OPTIMIZER = Optimizer.ADAM;
  public static final double DEFAULT_LEARNING_RATE = 1e-3;
  public static final double DEFAULT_MOMENTUM = 0.9;
  public static final LrSchedule DEFAULT_LR_SCHEDULE = LrSchedule.CONSTANT;
  public static final double DEFAULT_LR_GAMMA = 0.1;
  public static final int DEFAULT_START_EPOCH = 2;
  public static final int DEFAULT_LENGTH_EPOCHS = 4;
  public static final double DEFAULT_FINAL_SPARSITY = 0.7;
  public static final double DEFAULT_EXPONENT = 3.0;
  public static final PruningPattern DEFAULT_PATTERN = PruningPattern.COMBINED;
  public static final double DEFAULT_WINDOW_FRACTION = 0.8;
  public static final int DEFAULT_N = 2;
  public static final int DEFAULT_M = 4;
  public static final String DEFAULT_FC_METHOD = "block";
  public static final int DEFAULT_FC_BLOCK_SIZE = 5;
  public static final double DEFAULT_FC_BLOCK_FRACTION = 0.5;
  public static final int DEFAULT_BATCH_SIZE_PER_WORKER = 32;
  public static final int DEFAULT_AVERAGING_FREQUENCY = 5;
  public static final int DEFAULT_WORKER_PREFETCH_BATCHES = 2;
  public static final String DEFAULT_REPARTITION = "always";
  public static final String DEFAULT_TRAINING_APPROACH = "direct";
  public static final String DEFAULT_STORAGE_LEVEL = "MEMORY_ONLY";
  public static final String DEFAULT_SPARK_PROFILE = "local";
  public static final int DEFAULT_CHECKPOINT_EVERY_EPOCHS = 1;

  /** Where the network comes from. */
  public enum ModelSource { BUILDER, ZIP, JSON }

  /** DL4J updater. */
  public enum Optimizer { SGD, NESTEROV, ADAM }

  /** Per-epoch learning-rate schedule, applied by the driver. */
  public enum LrSchedule { CONSTANT, STEP, COSINE }

  /** Mask pattern of the prunable convolutions (METHODS.md sections 1 and 2). */
  public enum PruningPattern {
    NONE, UNSTRUCTURED, WINDOW, CK, COMBINED, NM;

    /** Name as written in configuration files. */
    public String configName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final String name;
  private final long seed;
  private final int epochs;
  private final ModelSource modelSource;
  private final String modelBuilder;
  private final String modelPath;
  private final String modelLayers;
  private final int maxTrainExamples;
  private final int maxTestExamples;
  private final String dataPath;
  private final String trainSplit;
  private final String testSplit;
  private final String normalization;
  private final int randomCropPadding;
  private final boolean horizontalFlip;
  private final int evalBatchSize;
  private final Optimizer optimizer;
  private final double learningRate;
  private final double momentum;
  private final double weightDecay;
  private final LrSchedule lrSchedule;
  private final List<Integer> lrMilestones;
  private final double lrGamma;
  private final double minLearningRate;
  private final int startEpoch;
  private final int lengthEpochs;
  private final double initialSparsity;
  private final double finalSparsity;
  private final double exponent;
  private final PruningPattern pattern;
  private final double windowFraction;
  private final int n;
  private final int m;
  private final String fcMethod;
  private final int fcBlockSize;
  private final double fcBlockFraction;
  private final boolean excludeFirstConv;
  private final boolean excludeClassifier;
  private final List<String> exclude;
  private final int workers;
  private final int batchSizePerWorker;
  private final int averagingFrequency;
  private final int workerPrefetchBatches;
  private final String repartition;
  private final String trainingApproach;
  private final String storageLevel;
  private final String sparkProfile;
  private final String outputDir;
  private final int checkpointEveryEpochs;
  private final Map<String, String> hadoop;

  private TrainConfig(Builder b) {
    name = b.name;
    seed = b.seed;
    epochs = b.epochs;
    modelSource = b.modelSource;
    modelBuilder = b.modelBuilder;
    modelPath = b.modelPath;
    modelLayers = b.modelLayers;
    maxTrainExamples = b.maxTrainExamples;
    maxTestExamples = b.maxTestExamples;
    dataPath = b.dataPath;
    trainSplit = b.trainSplit;
    testSplit = b.testSplit;
    normalization = b.normalization;
    randomCropPadding = b.randomCropPadding;
    horizontalFlip = b.horizontalFlip;
    evalBatchSize = b.evalBatchSize;
    optimizer = b.optimizer;
    learningRate = b.learningRate;
    momentum = b.momentum;
    weightDecay = b.weightDecay;
    lrSchedule = b.lrSchedule;
    lrMilestones = List.copyOf(b.lrMilestones);
    lrGamma = b.lrGamma;
    minLearningRate = b.minLearningRate;
    startEpoch = b.startEpoch;
    lengthEpochs = b.lengthEpochs;
    initialSparsity = b.initialSparsity;
    finalSparsity = b.finalSparsity;
    exponent = b.exponent;
    pattern = b.pattern;
    windowFraction = b.windowFraction;
    n = b.n;
    m = b.m;
    fcMethod = b.fcMethod;
    fcBlockSize = b.fcBlockSize;
    fcBlockFraction = b.fcBlockFraction;
    excludeFirstConv = b.excludeFirstConv;
    excludeClassifier = b.excludeClassifier;
    exclude = List.copyOf(b.exclude);
    workers = b.workers;
    batchSizePerWorker = b.batchSizePerWorker;
    averagingFrequency = b.averagingFrequency;
    workerPrefetchBatches = b.workerPrefetchBatches;
    repartition = b.repartition;
    trainingApproach = b.trainingApproach;
    storageLevel = b.storageLevel;
    sparkProfile = b.sparkProfile;
    outputDir = b.outputDir;
    checkpointEveryEpochs = b.checkpointEveryEpochs;
    hadoop = Collections.unmodifiableMap(new LinkedHashMap<>(b.hadoop));
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Reads a job configuration: {@code overrides} (each {@code key=value} in HOCON, e.g. from {@code --set};
   * keys may omit the leading {@code train.}) over {@code file} (may be null) over the reference schema.
   *
   * @throws TrainConfigException naming the key, the bad value and where it came from
   */
  public static TrainConfig load(File file, List<String> overrides) {
    Config layered = ConfigFactory.empty();
    for (String o : overrides) {
      String s = o.trim();
      int eq = s.indexOf('=');
      if (eq <= 0) {
        throw new TrainConfigException("--set needs key=value, got '" + o + "'");
      }
      String key = s.substring(0, eq).trim();
      if (!key.equals(ROOT) && !key.startsWith(ROOT + ".")) {
        s = ROOT + "." + s;
      }
      try {
        Config one = ConfigFactory.parseString(s, ConfigParseOptions.defaults().setOriginDescription("--set " + o));
        layered = one.withFallback(layered);
      } catch (ConfigException e) {
        throw new TrainConfigException("--set " + o + " is not valid HOCON: " + e.getMessage(), e);
      }
    }
    if (file != null) {
      if (!file.isFile()) {
        throw new TrainConfigException("configuration file " + file + " does not exist or is not a file");
      }
      try {
        layered = layered.withFallback(ConfigFactory.parseFile(file, ConfigParseOptions.defaults().setAllowMissing(false)));
      } catch (ConfigException e) {
        throw new TrainConfigException("cannot parse " + file + ": " + e.getMessage(), e);
      }
    }
    return from(layered);
  }

  /** The documented reference schema with its defaults. */
  public static Config reference() {
    return ConfigFactory.parseResources(TrainConfig.class.getClassLoader(), REFERENCE_RESOURCE,
        ConfigParseOptions.defaults().setAllowMissing(false));
  }

  /**
   * Validates a configuration holding a {@code train} object (missing keys fall back to the reference schema).
   *
   * @throws TrainConfigException naming the first bad key, its value and its origin
   */
  public static TrainConfig from(Config config) {
    Config ref = reference();
    Config c;
    try {
      c = config.withFallback(ref).resolve();
    } catch (ConfigException e) {
      throw new TrainConfigException("cannot resolve the configuration: " + e.getMessage(), e);
    }
    // unknown keys: a typo must not be silently ignored
    Config refTrain = ref.getConfig(ROOT);
    if (c.hasPath(ROOT) && c.getValue(ROOT).valueType() == ConfigValueType.OBJECT) {
      for (Map.Entry<String, ConfigValue> e : c.getConfig(ROOT).entrySet()) {
        String k = e.getKey();
        if (k.startsWith("hadoop.") || refTrain.hasPath(k)) {
          continue;
        }
        String parent = k.contains(".") ? k.substring(0, k.lastIndexOf('.')) : "";
        boolean underEmptyList = !parent.isEmpty() && refTrain.hasPath(parent)
            && refTrain.getValue(parent).valueType() == ConfigValueType.LIST;
        if (!underEmptyList) {
          throw new TrainConfigException("unknown key " + ROOT + "." + k + " " + from(e.getValue().origin())
              + "; every key is listed in " + REFERENCE_RESOURCE);
        }
      }
    } else {
      throw new TrainConfigException("the configuration has no '" + ROOT + "' object");
    }
    Reader r = new Reader(c);
    Builder b = builder()
        .name(r.str("name"))
        .seed(r.lng("seed"))
        .epochs(r.integer("epochs"))
        .modelSource(r.enumValue("model.source", ModelSource.class))
        .modelBuilder(r.str("model.builder"))
        .modelPath(r.str("model.path"))
        .modelLayers(r.str("model.layers"))
        .maxTrainExamples(r.integer("data.max-train-examples"))
        .maxTestExamples(r.integer("data.max-test-examples"))
        .dataPath(r.str("data.path"))
        .trainSplit(r.str("data.train-split"))
        .testSplit(r.str("data.test-split"))
        .normalization(r.str("data.normalization"))
        .randomCropPadding(r.integer("data.random-crop-padding"))
        .horizontalFlip(r.bool("data.horizontal-flip"))
        .evalBatchSize(r.integer("data.eval-batch-size"))
        .optimizer(r.enumValue("optimizer.type", Optimizer.class))
        .learningRate(r.dbl("optimizer.learning-rate"))
        .momentum(r.dbl("optimizer.momentum"))
        .weightDecay(r.dbl("optimizer.weight-decay"))
        .lrSchedule(r.enumValue("optimizer.lr-schedule.type", LrSchedule.class))
        .lrMilestones(r.intList("optimizer.lr-schedule.milestones"))
        .lrGamma(r.dbl("optimizer.lr-schedule.gamma"))
        .minLearningRate(r.dbl("optimizer.lr-schedule.min-lr"))
        .startEpoch(r.integer("schedule.start-epoch"))
        .lengthEpochs(r.integer("schedule.length-epochs"))
        .initialSparsity(r.dbl("schedule.initial-sparsity"))
        .finalSparsity(r.dbl("schedule.final-sparsity"))
        .exponent(r.dbl("schedule.exponent"))
        .pattern(r.enumValue("pruning.pattern", PruningPattern.class))
        .windowFraction(r.dbl("pruning.window-fraction"))
        .n(r.integer("pruning.n"))
        .m(r.integer("pruning.m"))
        .fcMethod(r.str("pruning.fc-method"))
        .fcBlockSize(r.integer("pruning.fc-block-size"))
        .fcBlockFraction(r.dbl("pruning.fc-block-fraction"))
        .excludeFirstConv(r.bool("pruning.exclude-first-conv"))
        .excludeClassifier(r.bool("pruning.exclude-classifier"))
        .exclude(r.strList("pruning.exclude"))
        .workers(r.integer("cluster.workers"))
        .batchSizePerWorker(r.integer("cluster.batch-size-per-worker"))
        .averagingFrequency(r.integer("cluster.averaging-frequency"))
        .workerPrefetchBatches(r.integer("cluster.worker-prefetch-batches"))
        .repartition(r.str("cluster.repartition"))
        .trainingApproach(r.str("cluster.training-approach"))
        .storageLevel(r.str("cluster.storage-level"))
        .sparkProfile(r.str("cluster.spark-profile"))
        .outputDir(r.str("output.dir"))
        .checkpointEveryEpochs(r.integer("output.checkpoint-every-epochs"))
        .hadoop(r.stringMap("hadoop"));
    try {
      return b.build();
    } catch (TrainConfigException e) {
      // add the origin of the key the builder complained about
      String key = e.key();
      if (key != null && c.hasPath(key)) {
        throw new TrainConfigException(key, e.getMessage() + " " + from(c.getValue(key).origin()));
      }
      throw e;
    }
  }

  static String from(ConfigOrigin o) {
    if (o == null) {
      return "";
    }
    if (o.filename() != null) {
      String f = o.filename();
      return "(from " + f + (o.lineNumber() > 0 ? ": " + o.lineNumber() : "") + ")";
    }
    if (o.resource() != null) {
      return "(from classpath " + o.resource() + (o.lineNumber() > 0 ? ": " + o.lineNumber() : "") + ")";
    }
    return "(from " + o.description().replaceAll(": \\d+$", "") + ")"; // --set origins have no useful line
  }

  /** Typed access that names the key and its origin on a wrong type. */
  private static final class Reader {
    private final Config c;

    Reader(Config c) {
      this.c = c;
    }

    private String full(String k) {
      return ROOT + "." + k;
    }

    private TrainConfigException wrong(String k, String expected) {
      ConfigValue v = c.getValue(full(k));
      return new TrainConfigException(full(k), full(k) + " must be " + expected + ", got "
          + v.render(ConfigRenderOptions.concise()) + " " + from(v.origin()));
    }

    String str(String k) {
      ConfigValue v = c.getValue(full(k));
      if (v.valueType() == ConfigValueType.OBJECT || v.valueType() == ConfigValueType.LIST) {
        throw wrong(k, "a string");
      }
      return v.valueType() == ConfigValueType.NULL ? "" : String.valueOf(v.unwrapped());
    }

    int integer(String k) {
      try {
        return c.getInt(full(k));
      } catch (ConfigException e) {
        throw wrong(k, "an integer");
      }
    }

    long lng(String k) {
      try {
        return c.getLong(full(k));
      } catch (ConfigException e) {
        throw wrong(k, "an integer");
      }
    }

    double dbl(String k) {
      try {
        return c.getDouble(full(k));
      } catch (ConfigException e) {
        throw wrong(k, "a number");
      }
    }

    boolean bool(String k) {
      try {
        return c.getBoolean(full(k));
      } catch (ConfigException e) {
        throw wrong(k, "true or false");
      }
    }

    List<Integer> intList(String k) {
      try {
        return c.getIntList(full(k));
      } catch (ConfigException e) {
        throw wrong(k, "a list of integers");
      }
    }

    List<String> strList(String k) {
      try {
        return c.getStringList(full(k));
      } catch (ConfigException e) {
        throw wrong(k, "a list of strings");
      }
    }

    <E extends Enum<E>> E enumValue(String k, Class<E> type) {
      String s = str(k);
      for (E e : type.getEnumConstants()) {
        if (e.name().equalsIgnoreCase(s.trim().replace('-', '_'))) {
          return e;
        }
      }
      List<String> names = new ArrayList<>();
      for (E e : type.getEnumConstants()) {
        names.add(e.name().toLowerCase(Locale.ROOT));
      }
      throw wrong(k, "one of " + String.join("|", names));
    }

    Map<String, String> stringMap(String k) {
      Map<String, String> out = new LinkedHashMap<>();
      ConfigValue v = c.getValue(full(k));
      if (v.valueType() != ConfigValueType.OBJECT) {
        throw wrong(k, "an object of \"key\" = \"value\" pairs");
      }
      for (Map.Entry<String, ConfigValue> e : c.getConfig(full(k)).entrySet()) {
        out.put(e.getKey().replace("\"", ""), String.valueOf(e.getValue().unwrapped()));
      }
      return out;
    }
  }

  // ---------------------------------------------------------------- accessors

  public String name() { return name; }
  public long seed() { return seed; }
  public int epochs() { return epochs; }
  public ModelSource modelSource() { return modelSource; }
  public String modelBuilder() { return modelBuilder; }
  public String modelPath() { return modelPath; }
  /** sparse (sparsetrain layers, masks as the "M" parameter) | stock (DL4J layers, for baselines). */
  public String modelLayers() { return modelLayers; }
  public boolean sparseLayers() { return "sparse".equals(modelLayers); }
  /** At most this many training examples (the first of the prepared shuffle), 0 = all. */
  public int maxTrainExamples() { return maxTrainExamples; }
  /** At most this many test examples, 0 = all. */
  public int maxTestExamples() { return maxTestExamples; }
  public String dataPath() { return dataPath; }
  public String trainSplit() { return trainSplit; }
  public String testSplit() { return testSplit; }
  public String normalization() { return normalization; }
  public int randomCropPadding() { return randomCropPadding; }
  public boolean horizontalFlip() { return horizontalFlip; }
  public int evalBatchSize() { return evalBatchSize; }
  public Optimizer optimizer() { return optimizer; }
  public double learningRate() { return learningRate; }
  public double momentum() { return momentum; }
  public double weightDecay() { return weightDecay; }
  public LrSchedule lrSchedule() { return lrSchedule; }
  public List<Integer> lrMilestones() { return lrMilestones; }
  public double lrGamma() { return lrGamma; }
  public double minLearningRate() { return minLearningRate; }
  public int startEpoch() { return startEpoch; }
  public int lengthEpochs() { return lengthEpochs; }
  public double initialSparsity() { return initialSparsity; }
  public double finalSparsity() { return finalSparsity; }
  public double exponent() { return exponent; }
  public PruningPattern pattern() { return pattern; }
  public double windowFraction() { return windowFraction; }
  public int n() { return n; }
  public int m() { return m; }
  public String fcMethod() { return fcMethod; }
  public int fcBlockSize() { return fcBlockSize; }
  public double fcBlockFraction() { return fcBlockFraction; }
  public boolean excludeFirstConv() { return excludeFirstConv; }
  public boolean excludeClassifier() { return excludeClassifier; }
  public List<String> exclude() { return exclude; }
  /** Workers per averaging round; 0 = spark.default.parallelism. */
  public int workers() { return workers; }
  public int batchSizePerWorker() { return batchSizePerWorker; }
  public int averagingFrequency() { return averagingFrequency; }
  public int workerPrefetchBatches() { return workerPrefetchBatches; }
  public String repartition() { return repartition; }
  public String trainingApproach() { return trainingApproach; }
  public String storageLevel() { return storageLevel; }
  public String sparkProfile() { return sparkProfile; }
  public String outputDir() { return outputDir; }
  public int checkpointEveryEpochs() { return checkpointEveryEpochs; }
  public Map<String, String> hadoop() { return hadoop; }

  /** True when masks are computed at all (pattern other than none). */
  public boolean pruningEnabled() {
    return pattern != PruningPattern.NONE;
  }

  /** Learning rate for a 0-based epoch under the configured schedule. */
  public double learningRateAt(int epoch) {
    switch (lrSchedule) {
      case STEP: {
        double lr = learningRate;
        for (int ms : lrMilestones) {
          if (epoch >= ms) {
            lr *= lrGamma;
          }
        }
        return lr;
      }
      case COSINE:
        return minLearningRate + 0.5 * (learningRate - minLearningRate)
            * (1 + Math.cos(Math.PI * epoch / (double) Math.max(1, epochs)));
      default:
        return learningRate;
    }
  }

  /** Builder pre-filled with this configuration's values. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.name = name; b.seed = seed; b.epochs = epochs; b.modelSource = modelSource; b.modelBuilder = modelBuilder;
    b.modelPath = modelPath; b.modelLayers = modelLayers; b.maxTrainExamples = maxTrainExamples;
    b.maxTestExamples = maxTestExamples; b.dataPath = dataPath; b.trainSplit = trainSplit; b.testSplit = testSplit;
    b.normalization = normalization; b.randomCropPadding = randomCropPadding; b.horizontalFlip = horizontalFlip;
    b.evalBatchSize = evalBatchSize; b.optimizer = optimizer; b.learningRate = learningRate; b.momentum = momentum;
    b.weightDecay = weightDecay; b.lrSchedule = lrSchedule; b.lrMilestones = new ArrayList<>(lrMilestones);
    b.lrGamma = lrGamma; b.minLearningRate = minLearningRate; b.startEpoch = startEpoch;
    b.lengthEpochs = lengthEpochs; b.initialSparsity = initialSparsity; b.finalSparsity = finalSparsity;
    b.exponent = exponent; b.pattern = pattern; b.windowFraction = windowFraction; b.n = n; b.m = m;
    b.fcMethod = fcMethod; b.fcBlockSize = fcBlockSize; b.fcBlockFraction = fcBlockFraction;
    b.excludeFirstConv = excludeFirstConv; b.excludeClassifier = excludeClassifier;
    b.exclude = new ArrayList<>(exclude); b.workers = workers; b.batchSizePerWorker = batchSizePerWorker;
    b.averagingFrequency = averagingFrequency; b.workerPrefetchBatches = workerPrefetchBatches;
    b.repartition = repartition; b.trainingApproach = trainingApproach; b.storageLevel = storageLevel;
    b.sparkProfile = sparkProfile; b.outputDir = outputDir; b.checkpointEveryEpochs = checkpointEveryEpochs;
    b.hadoop = new LinkedHashMap<>(hadoop);
    return b;
  }

  /** Every setting as {@code train.key = value}, one per line, in schema order (for the job log). */
  public Map<String, Object> asMap() {
    Map<String, Object> m0 = new LinkedHashMap<>();
    m0.put("train.name", name);
    m0.put("train.seed", seed);
    m0.put("train.epochs", epochs);
    m0.put("train.model.source", modelSource.name().toLowerCase(Locale.ROOT));
    m0.put("train.model.builder", modelBuilder);
    m0.put("train.model.path", modelPath);
    m0.put("train.model.layers", modelLayers);
    m0.put("train.data.path", redact(dataPath));
    m0.put("train.data.train-split", trainSplit);
    m0.put("train.data.test-split", testSplit);
    m0.put("train.data.normalization", normalization);
    m0.put("train.data.random-crop-padding", randomCropPadding);
    m0.put("train.data.horizontal-flip", horizontalFlip);
    m0.put("train.data.eval-batch-size", evalBatchSize);
    m0.put("train.data.max-train-examples", maxTrainExamples);
    m0.put("train.data.max-test-examples", maxTestExamples);
    m0.put("train.optimizer.type", optimizer.name().toLowerCase(Locale.ROOT));
    m0.put("train.optimizer.learning-rate", learningRate);
    m0.put("train.optimizer.momentum", momentum);
    m0.put("train.optimizer.weight-decay", weightDecay);
    m0.put("train.optimizer.lr-schedule.type", lrSchedule.name().toLowerCase(Locale.ROOT));
    m0.put("train.optimizer.lr-schedule.milestones", lrMilestones);
    m0.put("train.optimizer.lr-schedule.gamma", lrGamma);
    m0.put("train.optimizer.lr-schedule.min-lr", minLearningRate);
    m0.put("train.schedule.start-epoch", startEpoch);
    m0.put("train.schedule.length-epochs", lengthEpochs);
    m0.put("train.schedule.initial-sparsity", initialSparsity);
    m0.put("train.schedule.final-sparsity", finalSparsity);
    m0.put("train.schedule.exponent", exponent);
    m0.put("train.pruning.pattern", pattern.configName());
    m0.put("train.pruning.window-fraction", windowFraction);
    m0.put("train.pruning.n", n);
    m0.put("train.pruning.m", m);
    m0.put("train.pruning.fc-method", fcMethod);
    m0.put("train.pruning.fc-block-size", fcBlockSize);
    m0.put("train.pruning.fc-block-fraction", fcBlockFraction);
    m0.put("train.pruning.exclude-first-conv", excludeFirstConv);
    m0.put("train.pruning.exclude-classifier", excludeClassifier);
    m0.put("train.pruning.exclude", exclude);
    m0.put("train.cluster.workers", workers);
    m0.put("train.cluster.batch-size-per-worker", batchSizePerWorker);
    m0.put("train.cluster.averaging-frequency", averagingFrequency);
    m0.put("train.cluster.worker-prefetch-batches", workerPrefetchBatches);
    m0.put("train.cluster.repartition", repartition);
    m0.put("train.cluster.training-approach", trainingApproach);
    m0.put("train.cluster.storage-level", storageLevel);
    m0.put("train.cluster.spark-profile", sparkProfile);
    m0.put("train.output.dir", redact(outputDir));
    m0.put("train.output.checkpoint-every-epochs", checkpointEveryEpochs);
    hadoop.forEach((k, v) -> m0.put("train.hadoop." + k, k.contains("secret") || k.contains("key") ? "***" : v));
    return m0;
  }

  /** Removes user info (credentials) from a URI-like path. */
  static String redact(String path) {
    return path == null ? null : path.replaceAll("^([a-zA-Z0-9]+://)[^/@]*@", "$1***@");
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("TrainConfig\n");
    asMap().forEach((k, v) -> sb.append("  ").append(k).append(" = ").append(v).append('\n'));
    return sb.toString();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TrainConfig && ((TrainConfig) o).asMap().equals(asMap());
  }

  @Override
  public int hashCode() {
    return asMap().hashCode();
  }

  /** Builder with the defaults of the reference schema; {@code data.path} and {@code output.dir} are required. */
  public static final class Builder {
    private String name = DEFAULT_NAME;
    private long seed = DEFAULT_SEED;
    private int epochs = DEFAULT_EPOCHS;
    private ModelSource modelSource = DEFAULT_MODEL_SOURCE;
    private String modelBuilder = DEFAULT_MODEL_BUILDER;
    private String modelPath = "";
    private String modelLayers = DEFAULT_MODEL_LAYERS;
    private int maxTrainExamples;
    private int maxTestExamples;
    private String dataPath = "";
    private String trainSplit = DEFAULT_TRAIN_SPLIT;
    private String testSplit = DEFAULT_TEST_SPLIT;
    private String normalization = DEFAULT_NORMALIZATION;
    private int randomCropPadding;
    private boolean horizontalFlip;
    private int evalBatchSize = DEFAULT_EVAL_BATCH_SIZE;
    private Optimizer optimizer = DEFAULT_OPTIMIZER;
    private double learningRate = DEFAULT_LEARNING_RATE;
    private double momentum = DEFAULT_MOMENTUM;
    private double weightDecay;
    private LrSchedule lrSchedule = DEFAULT_LR_SCHEDULE;
    private List<Integer> lrMilestones = new ArrayList<>();
    private double lrGamma = DEFAULT_LR_GAMMA;
    private double minLearningRate;
    private int startEpoch = DEFAULT_START_EPOCH;
    private int lengthEpochs = DEFAULT_LENGTH_EPOCHS;
    private double initialSparsity;
    private double finalSparsity = DEFAULT_FINAL_SPARSITY;
    private double exponent = DEFAULT_EXPONENT;
    private PruningPattern pattern = DEFAULT_PATTERN;
    private double windowFraction = DEFAULT_WINDOW_FRACTION;
    private int n = DEFAULT_N;
    private int m = DEFAULT_M;
    private String fcMethod = DEFAULT_FC_METHOD;
    private int fcBlockSize = DEFAULT_FC_BLOCK_SIZE;
    private double fcBlockFraction = DEFAULT_FC_BLOCK_FRACTION;
    private boolean excludeFirstConv = true;
    private boolean excludeClassifier = true;
    private List<String> exclude = new ArrayList<>();
    private int workers;
    private int batchSizePerWorker = DEFAULT_BATCH_SIZE_PER_WORKER;
    private int averagingFrequency = DEFAULT_AVERAGING_FREQUENCY;
    private int workerPrefetchBatches = DEFAULT_WORKER_PREFETCH_BATCHES;
    private String repartition = DEFAULT_REPARTITION;
    private String trainingApproach = DEFAULT_TRAINING_APPROACH;
    private String storageLevel = DEFAULT_STORAGE_LEVEL;
    private String sparkProfile = DEFAULT_SPARK_PROFILE;
    private String outputDir = "";
    private int checkpointEveryEpochs = DEFAULT_CHECKPOINT_EVERY_EPOCHS;
    private Map<String, String> hadoop = new LinkedHashMap<>();

    public Builder name(String v) { name = v; return this; }
    public Builder seed(long v) { seed = v; return this; }
    public Builder epochs(int v) { epochs = v; return this; }
    public Builder modelSource(ModelSource v) { modelSource = v; return this; }
    public Builder modelBuilder(String v) { modelBuilder = v; return this; }
    public Builder modelPath(String v) { modelPath = v; return this; }
    public Builder modelLayers(String v) { modelLayers = v; return this; }
    public Builder maxTrainExamples(int v) { maxTrainExamples = v; return this; }
    public Builder maxTestExamples(int v) { maxTestExamples = v; return this; }
    public Builder dataPath(String v) { dataPath = v; return this; }
    public Builder trainSplit(String v) { trainSplit = v; return this; }
    public Builder testSplit(String v) { testSplit = v; return this; }
    public Builder normalization(String v) { normalization = v; return this; }
    public Builder randomCropPadding(int v) { randomCropPadding = v; return this; }
    public Builder horizontalFlip(boolean v) { horizontalFlip = v; return this; }
    public Builder evalBatchSize(int v) { evalBatchSize = v; return this; }
    public Builder optimizer(Optimizer v) { optimizer = v; return this; }
    public Builder learningRate(double v) { learningRate = v; return this; }
    public Builder momentum(double v) { momentum = v; return this; }
    public Builder weightDecay(double v) { weightDecay = v; return this; }
    public Builder lrSchedule(LrSchedule v) { lrSchedule = v; return this; }
    public Builder lrMilestones(List<Integer> v) { lrMilestones = new ArrayList<>(v); return this; }
    public Builder lrGamma(double v) { lrGamma = v; return this; }
    public Builder minLearningRate(double v) { minLearningRate = v; return this; }
    public Builder startEpoch(int v) { startEpoch = v; return this; }
    public Builder lengthEpochs(int v) { lengthEpochs = v; return this; }
    public Builder initialSparsity(double v) { initialSparsity = v; return this; }
    public Builder finalSparsity(double v) { finalSparsity = v; return this; }
    public Builder exponent(double v) { exponent = v; return this; }
    public Builder pattern(PruningPattern v) { pattern = v; return this; }
    public Builder windowFraction(double v) { windowFraction = v; return this; }
    public Builder n(int v) { n = v; return this; }
    public Builder m(int v) { m = v; return this; }
    public Builder fcMethod(String v) { fcMethod = v; return this; }
    public Builder fcBlockSize(int v) { fcBlockSize = v; return this; }
    public Builder fcBlockFraction(double v) { fcBlockFraction = v; return this; }
    public Builder excludeFirstConv(boolean v) { excludeFirstConv = v; return this; }
    public Builder excludeClassifier(boolean v) { excludeClassifier = v; return this; }
    public Builder exclude(List<String> v) { exclude = new ArrayList<>(v); return this; }
    public Builder workers(int v) { workers = v; return this; }
    public Builder batchSizePerWorker(int v) { batchSizePerWorker = v; return this; }
    public Builder averagingFrequency(int v) { averagingFrequency = v; return this; }
    public Builder workerPrefetchBatches(int v) { workerPrefetchBatches = v; return this; }
    public Builder repartition(String v) { repartition = v; return this; }
    public Builder trainingApproach(String v) { trainingApproach = v; return this; }
    public Builder storageLevel(String v) { storageLevel = v; return this; }
    public Builder sparkProfile(String v) { sparkProfile = v; return this; }
    public Builder outputDir(String v) { outputDir = v; return this; }
    public Builder checkpointEveryEpochs(int v) { checkpointEveryEpochs = v; return this; }
    public Builder hadoop(Map<String, String> v) { hadoop = new LinkedHashMap<>(v); return this; }

    private static TrainConfigException bad(String key, String expected, Object got) {
      return new TrainConfigException(key, key + " must be " + expected + ", got " + got);
    }

    /** Checks every setting and their combinations. */
    public TrainConfig build() {
      if (name == null || name.isBlank()) {
        throw bad("train.name", "a non-empty string", "'" + name + "'");
      }
      if (epochs < 1 || epochs > 100_000) {
        throw bad("train.epochs", "in [1, 100000]", epochs);
      }
      Objects.requireNonNull(modelSource, "modelSource");
      if (modelSource == ModelSource.BUILDER) {
        if (!MODEL_BUILDERS.contains(modelBuilder)) {
          throw bad("train.model.builder", "one of " + String.join("|", MODEL_BUILDERS), "'" + modelBuilder + "'");
        }
      } else if (modelPath == null || modelPath.isBlank()) {
        throw new TrainConfigException("train.model.path", "train.model.path must name the DL4J "
            + (modelSource == ModelSource.ZIP ? "model zip" : "JSON configuration") + " when train.model.source = "
            + modelSource.name().toLowerCase(Locale.ROOT) + ", got ''");
      }
      if (dataPath == null || dataPath.isBlank()) {
        throw bad("train.data.path", "the path of a prepared dataset (local or s3a://)", "''");
      }
      if (trainSplit.isBlank() || testSplit.isBlank()) {
        throw bad("train.data.train-split", "non-empty split names", "'" + trainSplit + "'/'" + testSplit + "'");
      }
      if (!List.of("none", "unit").contains(normalization)) {
        throw bad("train.data.normalization", "none or unit", "'" + normalization + "'");
      }
      if (randomCropPadding < 0 || randomCropPadding > 64) {
        throw bad("train.data.random-crop-padding", "in [0, 64]", randomCropPadding);
      }
      if (!List.of("sparse", "stock").contains(modelLayers)) {
        throw bad("train.model.layers", "sparse or stock", "'" + modelLayers + "'");
      }
      if (maxTrainExamples < 0 || maxTestExamples < 0) {
        throw bad("train.data.max-train-examples", ">= 0 (0 = all) for max-train-examples and max-test-examples",
            maxTrainExamples + "/" + maxTestExamples);
      }
      if (evalBatchSize < 1) {
        throw bad("train.data.eval-batch-size", ">= 1", evalBatchSize);
      }
      if (!(learningRate > 0 && learningRate < 10)) {
        throw bad("train.optimizer.learning-rate", "in (0, 10)", learningRate);
      }
      if (!(momentum >= 0 && momentum < 1)) {
        throw bad("train.optimizer.momentum", "in [0, 1)", momentum);
      }
      if (!(weightDecay >= 0 && weightDecay < 1)) {
        throw bad("train.optimizer.weight-decay", "in [0, 1)", weightDecay);
      }
      if (!(lrGamma > 0 && lrGamma <= 1)) {
        throw bad("train.optimizer.lr-schedule.gamma", "in (0, 1]", lrGamma);
      }
      if (!(minLearningRate >= 0 && minLearningRate <= learningRate)) {
        throw bad("train.optimizer.lr-schedule.min-lr", "in [0, learning-rate=" + learningRate + "]", minLearningRate);
      }
      for (int ms : lrMilestones) {
        if (ms < 1 || ms >= epochs) {
          throw bad("train.optimizer.lr-schedule.milestones", "epochs in [1, epochs=" + epochs + ")", lrMilestones);
        }
      }
      if (!(initialSparsity >= 0 && initialSparsity < 1)) {
        throw bad("train.schedule.initial-sparsity", "in [0, 1)", initialSparsity);
      }
      if (!(finalSparsity >= 0 && finalSparsity < 1)) {
        throw bad("train.schedule.final-sparsity", "in [0, 1)", finalSparsity);
      }
      if (!(exponent > 0 && exponent <= 100)) {
        throw bad("train.schedule.exponent", "in (0, 100]", exponent);
      }
      Objects.requireNonNull(pattern, "pattern");
      if (pattern != PruningPattern.NONE) {
        if (startEpoch < 0) {
          throw bad("train.schedule.start-epoch", ">= 0", startEpoch);
        }
        if (lengthEpochs < 1) {
          throw bad("train.schedule.length-epochs", ">= 1", lengthEpochs);
        }
        if (startEpoch + lengthEpochs >= epochs) {
          // the era's last step (target reached, masks frozen) is the first round after the era
          throw new TrainConfigException("train.schedule.length-epochs", "the pruning era must end before the last "
              + "epoch (the masks reach the target and freeze on the first round after the era): "
              + "train.schedule.start-epoch + train.schedule.length-epochs must be < train.epochs=" + epochs
              + ", got " + startEpoch + " + " + lengthEpochs + " = " + (startEpoch + lengthEpochs));
        }
        if (initialSparsity > finalSparsity) {
          throw bad("train.schedule.initial-sparsity", "<= train.schedule.final-sparsity=" + finalSparsity,
              initialSparsity);
        }
      }
      if (!(windowFraction > 0 && windowFraction <= 1)) {
        throw bad("train.pruning.window-fraction", "in (0, 1]", windowFraction);
      }
      if (n < 1 || m < 2 || n >= m || m > 64) {
        throw new TrainConfigException("train.pruning.n", "N:M mask needs 1 <= N < M <= 64, got "
            + "train.pruning.n=" + n + ", train.pruning.m=" + m);
      }
      if (!List.of("magnitude", "block").contains(fcMethod)) {
        throw bad("train.pruning.fc-method", "magnitude or block", "'" + fcMethod + "'");
      }
      if (fcBlockSize < 5 || fcBlockSize > 64) {
        throw bad("train.pruning.fc-block-size", "in [5, 64] (METHODS.md: n >= 5)", fcBlockSize);
      }
      if (!(fcBlockFraction >= 0 && fcBlockFraction <= 1)) {
        throw bad("train.pruning.fc-block-fraction", "in [0, 1]", fcBlockFraction);
      }
      if (workers < 0 || workers > 100_000) {
        throw bad("train.cluster.workers", "in [0, 100000] (0 = spark.default.parallelism)", workers);
      }
      if (batchSizePerWorker < 1 || batchSizePerWorker > 65_536) {
        throw bad("train.cluster.batch-size-per-worker", "in [1, 65536]", batchSizePerWorker);
      }
      if (averagingFrequency < 1) {
        throw bad("train.cluster.averaging-frequency", ">= 1", averagingFrequency);
      }
      if (workerPrefetchBatches < 0) {
        throw bad("train.cluster.worker-prefetch-batches", ">= 0", workerPrefetchBatches);
      }
      if (!List.of("always", "never", "num-partitions-workers-differs").contains(repartition)) {
        throw bad("train.cluster.repartition", "always, never or num-partitions-workers-differs", "'" + repartition + "'");
      }
      if (!List.of("direct", "export").contains(trainingApproach)) {
        throw bad("train.cluster.training-approach", "direct or export", "'" + trainingApproach + "'");
      }
      if (!List.of("MEMORY_ONLY", "MEMORY_AND_DISK", "DISK_ONLY", "NONE").contains(storageLevel)) {
        throw bad("train.cluster.storage-level", "MEMORY_ONLY, MEMORY_AND_DISK, DISK_ONLY or NONE",
            "'" + storageLevel + "'");
      }
      if (sparkProfile == null || sparkProfile.isBlank()) {
        throw bad("train.cluster.spark-profile", "a sparkconf profile name", "''");
      }
      if (outputDir == null || outputDir.isBlank()) {
        throw bad("train.output.dir", "the output directory (local or s3a://)", "''");
      }
      if (checkpointEveryEpochs < 1) {
        throw bad("train.output.checkpoint-every-epochs", ">= 1", checkpointEveryEpochs);
      }
      for (String k : hadoop.keySet()) {
        String lk = k.toLowerCase(Locale.ROOT);
        if (lk.contains("secret") || lk.endsWith("access.key") || lk.contains("session.token")) {
          throw new TrainConfigException("train.hadoop", "train.hadoop must not hold credentials (" + k
              + "): use the Hadoop/AWS credential chain");
        }
      }
      return new TrainConfig(this);
    }
  }
}
