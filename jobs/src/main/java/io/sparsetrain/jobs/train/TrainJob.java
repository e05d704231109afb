package io.sparsetrain.jobs.train;

import static io.sparsetrain.jobs.RunOrder.epochOrder;
import static io.sparsetrain.jobs.RunOrder.hms;

import io.sparsetrain.dataprep.BatchAugmenter;
import io.sparsetrain.dataprep.BatchOptions;
import io.sparsetrain.dataprep.DataPrepException;
import io.sparsetrain.dataprep.Manifest;
import io.sparsetrain.dataprep.ParquetDataSets;
import io.sparsetrain.jobs.train.checkpoint.CheckpointStore;
import io.sparsetrain.jobs.train.checkpoint.TrainState;
import io.sparsetrain.jobs.train.config.TrainConfig;
import io.sparsetrain.jobs.train.model.GraphPrunableModel;
import io.sparsetrain.jobs.train.model.MaskedNetworkModel;
import io.sparsetrain.jobs.train.model.ModelFactory;
import io.sparsetrain.jobs.train.model.PrunableModel;
import io.sparsetrain.jobs.train.pruning.DriverPruningControl;
import io.sparsetrain.jobs.train.report.EpochRecord;
import io.sparsetrain.jobs.train.report.TrainReport;
import io.sparsetrain.jobs.train.spark.DistributedTrainer;
import io.sparsetrain.jobs.train.spark.Dl4jParameterAveragingTrainer;
import io.sparsetrain.jobs.train.spark.WorkerMasks;
import io.sparsetrain.kernels.NmFormat;
import io.sparsetrain.prune.MaskChecksum;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.schedule.CubicSparsitySchedule;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One training run on a SparkSession: reads the prepared shards, trains with parameter averaging behind
 * {@link DistributedTrainer}, lets {@link DriverPruningControl} recompute/freeze masks after every averaging
 * round, evaluates top-1/top-5 on the executors each epoch, checkpoints, and writes the report.
 *
 * <p>Rounds: each epoch the cached minibatches (one DataSet = batch-size-per-worker images) are put in a
 * seeded random order (seed, epoch) and cut into chunks of workers x averaging-frequency minibatches; one chunk
 * is one averaging round = one schedule step. The order depends only on the seed and the epoch, so a resumed run
 * sees exactly the rounds an uninterrupted run sees. Minibatches are cached without augmentation; random crop
 * and flip are drawn afresh for every epoch on the executors, seeded by (seed, epoch, minibatch index).
 */
public final class TrainJob {
  private static final Logger LOG = LoggerFactory.getLogger(TrainJob.class);

  private TrainJob() {}

  /** What a run produced. */
  public record Result(List<EpochRecord> epochs, TrainState state, MaskSet masks, String outputDir) {}

  /**
   * Runs (or with {@code resume} continues) a training run.
   *
   * @param progress receives one line per averaging round and per epoch
   * @throws TrainException naming the cause (missing dataset, unreachable storage, existing checkpoints, ...)
   */
  public static Result run(SparkSession spark, TrainConfig c, boolean resume, Consumer<String> progress) {
    return run(spark, c, resume, null, progress);
  }

  /**
   * Runs a training run; a fresh run may start from another run's checkpoint ({@code initFrom}, see
   * {@link #checkBranch}) instead of from scratch, e.g. a pruning recipe branching off a dense run's checkpoint taken
   * before its pruning era: the shared dense prefix is then trained once. With {@code resume} and a checkpoint of its
   * own, a run continues that checkpoint and {@code initFrom} is not used.
   */
  public static Result run(SparkSession spark, TrainConfig c, boolean resume, String initFrom,
      Consumer<String> progress) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Configuration hconf = spark.sparkContext().hadoopConfiguration();
    Map<String, String> saved = new HashMap<>();
    for (Map.Entry<String, String> e : c.hadoop().entrySet()) {
      saved.put(e.getKey(), hconf.get(e.getKey()));
      hconf.set(e.getKey(), e.getValue());
    }
    try {
      return runInternal(spark, jsc, hconf, c, resume, initFrom, progress);
    } finally {
      for (Map.Entry<String, String> e : saved.entrySet()) {
        if (e.getValue() == null) {
          hconf.unset(e.getKey());
        } else {
          hconf.set(e.getKey(), e.getValue());
        }
      }
      jsc.setJobDescription(null);
    }
  }

  /** Reads the dataset manifest, with an error that names the key and the cause. */
  public static Manifest readManifest(TrainConfig c, Configuration hconf) {
    try {
      Manifest m = Manifest.read(c.dataPath(), hconf);
      for (String split : List.of(c.trainSplit(), c.testSplit())) {
        if (m.splits.get(split) == null || m.shardPaths(split).isEmpty()) {
          throw new TrainException("train.data.path=" + c.dataPath() + " has no split '" + split + "' (it has "
              + m.splits.keySet() + "); set train.data.train-split / train.data.test-split");
        }
      }
      if (!m.image.isFixed()) {
        throw new TrainException("train.data.path=" + c.dataPath() + " has images of varying size; prep it with "
            + "--resize or --center-crop");
      }
      return m;
    } catch (DataPrepException e) {
      throw new TrainException("train.data.path=" + redact(c.dataPath()) + ": " + describeStorage(e), e);
    } catch (RuntimeException e) {
      if (e instanceof TrainException) {
        throw e;
      }
      throw new TrainException("train.data.path=" + redact(c.dataPath()) + ": " + describeStorage(e), e);
    }
  }

  /** Makes sure the output directory can be written (fails fast on an unreachable s3a endpoint). */
  static void checkOutput(TrainConfig c, Configuration hconf) {
    Path out = new Path(c.outputDir());
    try {
      FileSystem fs = out.getFileSystem(hconf);
      fs.mkdirs(out);
      Path probe = new Path(out, "_write-probe");
      fs.create(probe, true).close();
      fs.delete(probe, false);
    } catch (IOException | RuntimeException e) {
      throw new TrainException("train.output.dir=" + redact(c.outputDir()) + " is not writable: "
          + describeStorage(e), e);
    }
  }

  /** The root cause of a storage failure in one line, saying when an endpoint could not be reached. */
  static String describeStorage(Throwable e) {
    Throwable root = e;
    StringBuilder chain = new StringBuilder(String.valueOf(e.getMessage()));
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String all = chain.toString() + " " + root;
    boolean unreachable = root instanceof java.net.ConnectException || root instanceof java.net.UnknownHostException
        || root instanceof java.net.SocketTimeoutException || all.contains("Unable to execute HTTP request")
        || all.contains("Connection refused") || all.contains("connect timed out");
    String msg = e.getMessage();
    if (unreachable) {
      return "storage endpoint unreachable (" + root.getClass().getSimpleName() + ": " + root.getMessage()
          + "); check fs.s3a.endpoint and the network. " + msg;
    }
    return msg + (root != e ? " (cause: " + root.getClass().getSimpleName() + ": " + root.getMessage() + ")" : "");
  }

  static String redact(String path) {
    return path.replaceAll("^([a-zA-Z0-9]+://)[^/@]*@", "$1***@");
  }

  private static Result runInternal(SparkSession spark, JavaSparkContext jsc, Configuration hconf, TrainConfig c,
      boolean resume, String initFrom, Consumer<String> progress) {
    long t0 = System.nanoTime();
    // ---- preflight: everything that can fail cheaply, before any Spark work
    Manifest manifest = readManifest(c, hconf);
    checkOutput(c, hconf);
    CheckpointStore store = new CheckpointStore(c.outputDir(), hconf);
    Optional<String> latest = store.latest();
    if (!resume && latest.isPresent()) {
      throw new TrainException("train.output.dir=" + redact(c.outputDir()) + " already holds checkpoint "
          + latest.get() + ": pass --resume to continue it, or choose another train.output.dir");
    }
    int channels = manifest.image.channels;
    int height = manifest.image.height;
    int width = manifest.image.width;
    int numClasses = manifest.numClasses;
    int workers = c.workers() > 0 ? c.workers() : jsc.defaultParallelism();

    // ---- data: training minibatches cached once without augmentation, indexed for the per-epoch order; each
    // round's minibatches get fresh crops/flips seeded by (seed, epoch, minibatch index) on the executors
    BatchOptions trainOpts = BatchOptions.builder().batchSize(c.batchSizePerWorker())
        .normalization("none".equals(c.normalization()) ? BatchOptions.Normalization.NONE
            : BatchOptions.Normalization.UNIT)
        .randomCrop(c.randomCropPadding()).horizontalFlip(c.horizontalFlip()).seed(c.seed()).build();
    BatchAugmenter augmenter = BatchAugmenter.of(trainOpts);
    BatchOptions testOpts = BatchOptions.builder().batchSize(c.evalBatchSize())
        .normalization(trainOpts.normalization()).seed(c.seed()).build();
    jsc.setJobDescription("train " + c.name() + ": read and cache the '" + c.trainSplit() + "' shards");
    JavaPairRDD<DataSet, Long> indexed = ParquetDataSets.dataSets(spark, c.dataPath(), c.trainSplit(),
        trainOpts.withoutAugmentation()).zipWithIndex();
    if (c.maxTrainExamples() > 0) {
      long keep = batchesWithin(indexed.map(t -> t._1().numExamples()).collect(), c.maxTrainExamples());
      indexed = indexed.filter(t -> t._2() < keep);
    }
    StorageLevel level = "NONE".equals(c.storageLevel()) ? null : StorageLevel.fromString(c.storageLevel());
    if (level != null) {
      indexed.persist(level);
    }
    List<Integer> batchSizes = indexed.map(t -> t._1().numExamples()).collect();
    int numBatches = batchSizes.size();
    if (numBatches == 0) {
      throw new TrainException("train.data.path=" + c.dataPath() + ": split '" + c.trainSplit() + "' is empty");
    }
    JavaRDD<DataSet> test = ParquetDataSets.dataSets(spark, c.dataPath(), c.testSplit(), testOpts);
    if (c.maxTestExamples() > 0) {
      JavaPairRDD<DataSet, Long> t = test.zipWithIndex();
      long keep = Math.max(1, batchesWithin(t.map(x -> x._1().numExamples()).collect(), c.maxTestExamples()));
      test = t.filter(x -> x._2() < keep).keys();
    }
    if (level != null) {
      test.persist(level);
    }
    int batchesPerRound = workers * c.averagingFrequency();
    int roundsPerEpoch = (numBatches + batchesPerRound - 1) / batchesPerRound;

    // ---- model, state
    TrainState state;
    PrunableModel model;
    boolean branched = false;
    if (resume && latest.isPresent()) {
      CheckpointStore.Checkpoint cp = store.load(latest.get());
      state = cp.state();
      if (state.roundsPerEpoch != roundsPerEpoch) {
        throw new TrainException("cannot resume " + latest.get() + ": it was written with " + state.roundsPerEpoch
            + " rounds per epoch, this layout gives " + roundsPerEpoch + " (workers=" + workers
            + ", averaging-frequency=" + c.averagingFrequency() + ", batch-size-per-worker=" + c.batchSizePerWorker()
            + ", " + numBatches + " minibatches); resume with the same data and cluster settings");
      }
      model = wrap(c, cp.network(), cp.masks(), state.frozen);
      progress.accept(String.format(Locale.ROOT, "resuming from %s: epoch %d, round %d, step %d, masks %s%s",
          latest.get(), state.epoch + 1, state.roundInEpoch, state.step, state.maskChecksum,
          state.frozen ? " (frozen)" : ""));
    } else if (initFrom != null) {
      branched = true;
      CheckpointStore.Checkpoint cp = CheckpointStore.loadFrom(initFrom, hconf);
      state = cp.state();
      checkBranch(c, initFrom, state, cp.masks(), roundsPerEpoch);
      for (String w : configDifferences(c, state)) {
        progress.accept("--init-from " + redact(initFrom) + ": " + w);
      }
      state.name = c.name();
      state.initializedFrom = initFrom;
      model = wrap(c, cp.network(), null, false);
      progress.accept(String.format(Locale.ROOT, "initialised from %s (run %s): epoch %d, step %d, dense; the first "
          + "%d epochs are that run's", redact(initFrom), cp.state().config == null ? "?"
          : cp.state().config.get("train.name"), state.epoch + 1, state.step, state.epoch));
    } else {
      if (resume) {
        progress.accept("no checkpoint under " + store.root() + ": starting from scratch");
      }
      state = new TrainState();
      state.name = c.name();
      state.seed = c.seed();
      state.roundsPerEpoch = roundsPerEpoch;
      model = wrap(c, ModelFactory.create(c, channels, height, width, numClasses, hconf), null, false);
    }
    DriverPruningControl control = new DriverPruningControl(c, roundsPerEpoch, model.classifierPrunable());
    CubicSparsitySchedule schedule = control.schedule();
    if (branched && state.step > schedule.startStep()) {
      throw new TrainException("--init-from " + redact(initFrom) + ": its checkpoint is at step " + state.step
          + ", past this run's pruning era start (step " + schedule.startStep() + ", train.schedule.start-epoch="
          + c.startEpoch() + "); branch from a checkpoint at or before the era start");
    }
    state.config = c.asMap();
    progress.accept(String.format(Locale.ROOT, "train %s: %d minibatches of %d, %d workers, %d rounds/epoch "
            + "(%d examples/round), %d epochs, pattern %s, target %.3f, era steps [%d, %d], %s layers (%d prunable)",
        c.name(), numBatches, c.batchSizePerWorker(), workers, roundsPerEpoch,
        workers * c.batchSizePerWorker() * c.averagingFrequency(), c.epochs(), c.pattern().configName(),
        c.finalSparsity(), schedule.startStep(), schedule.endStep(), c.modelLayers(), model.prunableLayers().size()));

    String exportDir = new Path(new Path(c.outputDir(), "work"), "dl4j-export").toString();
    DistributedTrainer trainer = new Dl4jParameterAveragingTrainer(jsc, model.graph(),
        new Dl4jParameterAveragingTrainer.Settings(workers, c.batchSizePerWorker(), c.averagingFrequency(),
            c.workerPrefetchBatches(), c.repartition(), c.trainingApproach(), exportDir, c.seed()));
    List<EpochRecord> history = new ArrayList<>(state.history);
    double elapsedBefore = state.elapsedSeconds;
    long totalRounds = (long) roundsPerEpoch * c.epochs();
    long roundsThisRun = 0;
    try {
      for (int epoch = state.epoch; epoch < c.epochs(); epoch++) {
        double lr = c.learningRateAt(epoch);
        model.graph().setLearningRate(lr);
        int[] position = epochOrder(numBatches, c.seed(), epoch);
        long[] roundImages = new long[roundsPerEpoch];
        for (int b = 0; b < numBatches; b++) {
          roundImages[position[b] / batchesPerRound] += batchSizes.get(b);
        }
        Broadcast<int[]> pos = jsc.broadcast(position);
        double lossSum = 0;
        int lossRounds = 0;
        List<String> lastWorkerCompressed = new ArrayList<>();
        long epochImages = 0;
        long epochMaskChecks = 0;
        double epochSeconds = 0;
        long epochStart = System.nanoTime();
        int firstRound = epoch == state.epoch ? state.roundInEpoch : 0;
        for (int r = firstRound; r < roundsPerEpoch; r++) {
          long step = state.step;
          final int lo = r * batchesPerRound;
          final int hi = Math.min(lo + batchesPerRound, numBatches);
          final int ep = epoch;
          JavaRDD<DataSet> chunk = indexed.filter(t -> {
            int p = pos.value()[(int) (long) t._2()];
            return p >= lo && p < hi;
          }).map(t -> augmenter.augment(t._1(), ep, t._2()));
          String phase = phase(schedule, step, c);
          jsc.setJobDescription(String.format(Locale.ROOT, "train %s: epoch %d/%d, averaging round %d/%d "
                  + "(step %d, %s, sparsity %.3f)", c.name(), epoch + 1, c.epochs(), r + 1, roundsPerEpoch, step,
              phase, control.globalSparsity(model)));
          long rs = System.nanoTime();
          WorkerMasks shipped = c.pruningEnabled() && (model.masksInParameters() || model.masks().size() > 0)
              ? control.workerMasks(model, step) : null;
          DistributedTrainer.RoundResult round = trainer.fitRound(chunk, shipped);
          double loss = round.loss();
          lastWorkerCompressed = new ArrayList<>(round.workerCompressedLayers());
          double seconds = (System.nanoTime() - rs) / 1e9;
          if (trainer.network() != model.graph()) {
            model = wrap(c, trainer.network(), model.masks(), model.isFrozen());
          }
          DriverPruningControl.RoundOutcome out = control.afterRound(model, step);
          state.step = step + 1;
          state.scheduledSparsity = out.scheduledSparsity();
          state.frozen = model.isFrozen();
          lossSum += loss;
          lossRounds++;
          epochImages += roundImages[r];
          epochMaskChecks += round.workerMaskChecks();
          epochSeconds += seconds;
          roundsThisRun++;
          double elapsed = elapsedBefore + (System.nanoTime() - t0) / 1e9;
          long doneRounds = (long) epoch * roundsPerEpoch + r + 1;
          double eta = (System.nanoTime() - t0) / 1e9 / roundsThisRun * (totalRounds - doneRounds);
          progress.accept(String.format(Locale.ROOT, "epoch %d/%d step %d round %d/%d loss %.4f sparsity %.4f "
                  + "(target %.4f) %.1f images/s elapsed %s eta %s%s%s%s", epoch + 1, c.epochs(), state.step, r + 1,
              roundsPerEpoch, loss, out.achievedSparsity(), out.scheduledSparsity(), roundImages[r] / seconds,
              hms(elapsed), hms(eta), out.frozeNow() ? " FROZEN masks " + MaskChecksum.hex(model.masks().checksum())
                  + ", " + model.compressedLayers().size() + " layers on compressed kernels" : "",
              lastWorkerCompressed.isEmpty() ? "" : ", workers ran " + lastWorkerCompressed.size()
                  + " layers compressed",
              shipped == null || shipped.isEmpty() ? "" : ", mask checks passed on " + round.workerMaskChecks()
                  + " worker(s)"));
          if (out.frozeNow()) {
            boolean lastRound = r + 1 == roundsPerEpoch;
            state.epoch = lastRound ? epoch + 1 : epoch;
            state.roundInEpoch = lastRound ? 0 : r + 1;
            state.elapsedSeconds = elapsed;
            state.reason = "freeze";
            state.history = new ArrayList<>(history);
            store.save(CheckpointStore.freezeName(state.step), model.graph(), model.masks(), state);
          }
        }
        pos.destroy();
        jsc.setJobDescription("train " + c.name() + ": evaluate epoch " + (epoch + 1) + " on the '" + c.testSplit()
            + "' split (top-1/top-5 on the executors)");
        DistributedTrainer.Accuracy acc = trainer.evaluate(test, numClasses, 5, c.evalBatchSize());
        EpochRecord rec = new EpochRecord();
        rec.epoch = epoch;
        rec.step = state.step;
        rec.phase = phase(schedule, state.step - 1, c);
        rec.trainLoss = lossRounds > 0 ? lossSum / lossRounds : Double.NaN;
        rec.testTop1 = acc.top1();
        rec.testTop5 = acc.topN();
        rec.scheduledSparsity = control.scheduledSparsity(state.step - 1);
        rec.achievedSparsity = control.globalSparsity(model);
        rec.images = epochImages;
        rec.imagesPerSecond = epochSeconds > 0 ? epochImages / epochSeconds : 0;
        rec.seconds = (System.nanoTime() - epochStart) / 1e9;
        rec.learningRate = lr;
        rec.layerSparsity = DriverPruningControl.layerSparsity(model);
        rec.workerCompressedLayers = lastWorkerCompressed;
        rec.workerMaskChecks = epochMaskChecks;
        history.add(rec);
        double elapsed = elapsedBefore + (System.nanoTime() - t0) / 1e9;
        long doneRounds = (long) (epoch + 1) * roundsPerEpoch;
        double eta = roundsThisRun == 0 ? 0 : (System.nanoTime() - t0) / 1e9 / roundsThisRun * (totalRounds - doneRounds);
        progress.accept(String.format(Locale.ROOT, "epoch %d/%d done: step %d loss %.4f top-1 %.4f top-5 %.4f "
                + "sparsity %.4f (target %.4f) %s %.1f images/s elapsed %s eta %s", epoch + 1, c.epochs(), rec.step,
            rec.trainLoss, rec.testTop1, rec.testTop5, rec.achievedSparsity, rec.scheduledSparsity, rec.phase,
            rec.imagesPerSecond, hms(elapsed), hms(eta)));
        state.epoch = epoch + 1;
        state.roundInEpoch = 0;
        state.elapsedSeconds = elapsed;
        state.reason = "epoch-end";
        state.history = new ArrayList<>(history);
        if ((epoch + 1) % c.checkpointEveryEpochs() == 0 || epoch + 1 == c.epochs()) {
          jsc.setJobDescription("train " + c.name() + ": checkpoint epoch " + (epoch + 1));
          store.save(CheckpointStore.epochName(epoch), model.graph(), model.masks(), state);
        }
      }
      double elapsed = elapsedBefore + (System.nanoTime() - t0) / 1e9;
      TrainReport.write(c.outputDir(), hconf, c.name(), c.asMap(), history, elapsed);
      progress.accept("train " + c.name() + ": done, report " + new Path(c.outputDir(), TrainReport.HTML));
      return new Result(history, state, model.masks(), c.outputDir());
    } finally {
      trainer.close();
      indexed.unpersist(false);
      test.unpersist(false);
    }
  }

  /**
   * The driver's view of a network: {@link MaskedNetworkModel} for sparse layers ({@code masks}, if given, must be
   * the ones the network holds in its "M" parameters), {@link GraphPrunableModel} for stock layers.
   */
  /** Keys that may differ between a run and the checkpoint it branches from (they act from the era on, or not on training). */
  private static final List<String> BRANCH_FREE_KEYS = List.of("train.name", "train.schedule.", "train.pruning.",
      "train.output.", "train.data.test-split", "train.data.max-test-examples", "train.data.eval-batch-size",
      "train.cluster.spark-profile", "train.cluster.storage-level", "train.cluster.worker-prefetch-batches",
      "train.hadoop");

  /** Refuses a branch that would not continue the source run's training as this configuration would have run it. */
  static void checkBranch(TrainConfig c, String initFrom, TrainState source, MaskSet masks, int roundsPerEpoch) {
    String what = "--init-from " + redact(initFrom);
    if (source.frozen) {
      throw new TrainException(what + ": its masks are frozen; branch from a checkpoint taken before a pruning era");
    }
    if (masks != null && masks.zeroCount() > 0) {
      throw new TrainException(what + ": its masks already prune " + masks.zeroCount() + " of " + masks.weightCount()
          + " weights; branch from a dense checkpoint (before the source run's pruning era)");
    }
    if (source.roundInEpoch != 0) {
      throw new TrainException(what + ": it was taken inside an epoch (round " + source.roundInEpoch
          + "); branch from an epoch-end checkpoint");
    }
    if (source.seed != c.seed() || source.roundsPerEpoch != roundsPerEpoch) {
      throw new TrainException(what + ": it was trained with seed " + source.seed + " and " + source.roundsPerEpoch
          + " rounds per epoch, this run has seed " + c.seed() + " and " + roundsPerEpoch + " (same data, seed and "
          + "cluster layout needed)");
    }
    if (source.epoch > c.epochs()) {
      throw new TrainException(what + ": it is at epoch " + source.epoch + ", this run has only train.epochs="
          + c.epochs());
    }
    List<String> diffs = new ArrayList<>();
    if (source.config != null) {
      Map<String, Object> mine = c.asMap();
      for (Map.Entry<String, Object> e : mine.entrySet()) {
        if (BRANCH_FREE_KEYS.stream().noneMatch(e.getKey()::startsWith)
            && !java.util.Objects.equals(String.valueOf(e.getValue()), String.valueOf(source.config.get(e.getKey())))) {
          diffs.add(e.getKey() + " = " + e.getValue() + " here, " + source.config.get(e.getKey()) + " there");
        }
      }
    }
    if (!diffs.isEmpty()) {
      throw new TrainException(what + ": the source run was trained differently, so this would not be the run the "
          + "configuration describes: " + String.join("; ", diffs));
    }
  }

  /** What cannot be verified about a branch (old checkpoints hold no configuration). */
  static List<String> configDifferences(TrainConfig c, TrainState source) {
    return source.config == null
        ? List.of("the checkpoint holds no configuration (written by an older version): only seed, data layout, "
            + "freeze and masks were checked")
        : List.of();
  }

  public static PrunableModel wrap(TrainConfig c, ComputationGraph g, MaskSet masks, boolean frozen) {
    if (!c.sparseLayers()) {
      return masks == null ? new GraphPrunableModel(g) : new GraphPrunableModel(g, masks, frozen);
    }
    MaskedNetworkModel m = new MaskedNetworkModel(g,
        c.pattern() == TrainConfig.PruningPattern.NM ? NmFormat.of(c.n(), c.m()) : null);
    if (masks != null && masks.size() > 0) {
      MaskSet held = m.masks();
      if (!held.equals(masks)) {
        throw new TrainException("the network's masks (checksum " + MaskChecksum.hex(held.checksum())
            + ") differ from the recorded ones (" + MaskChecksum.hex(masks.checksum()) + ")");
      }
    }
    if (frozen && !m.isFrozen()) {
      m.freeze();
    }
    return m;
  }

  /** How many leading minibatches hold at most {@code maxExamples} examples (at least one). */
  static long batchesWithin(List<Integer> batchSizes, int maxExamples) {
    long n = 0;
    long k = 0;
    for (int s : batchSizes) {
      if (k > 0 && n + s > maxExamples) {
        break;
      }
      n += s;
      k++;
    }
    return k;
  }

  /** dense | pruning | frozen: the phase of schedule step {@code step}. */
  static String phase(CubicSparsitySchedule s, long step, TrainConfig c) {
    if (!c.pruningEnabled() || step < 0 || s.isDense(step)) {
      return "dense";
    }
    return s.isFrozen(step) ? "frozen" : "pruning";
  }
}
