package io.sparsetrain.jobs.sparsify;

import static io.sparsetrain.jobs.RunOrder.epochOrder;
import static io.sparsetrain.jobs.RunOrder.hms;

import io.sparsetrain.dataprep.BatchOptions;
import io.sparsetrain.dataprep.Manifest;
import io.sparsetrain.dataprep.ParquetDataSets;
import io.sparsetrain.dataprep.ShardDataSetIterator;
import io.sparsetrain.kernels.NmFormat;
import io.sparsetrain.learn.alloc.CorrectedAllocation;
import io.sparsetrain.learn.alloc.ErkAllocation;
import io.sparsetrain.learn.alloc.KernelDensityBridge;
import io.sparsetrain.learn.alloc.ThresholdAllocator;
import io.sparsetrain.learn.alloc.UniformAllocation;
import io.sparsetrain.learn.nm.GumbelNmMask;
import io.sparsetrain.nn.BnRecalibration;
import io.sparsetrain.nn.MaskedNetwork;
import io.sparsetrain.nn.convert.SparseConversion;
import io.sparsetrain.nn.layers.MaskLearning;
import io.sparsetrain.nn.layers.MaskLearningGraphs;
import io.sparsetrain.nn.layers.MaskLearningLayer;
import io.sparsetrain.nn.layers.SparseLayer;
import io.sparsetrain.nn.layers.SparseLayerConfig;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskChecksum;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.MalformedMaskException;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.global.GlobalSparsityController;
import io.sparsetrain.prune.nm.NmGroupOrder;
import io.sparsetrain.prune.nm.NmMagnitudePruner;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
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
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;

/**
 * One sparsify run: loads a trained model (converted to sparse layers), computes masks with the chosen method,
 * applies and freezes them on a copy of the model (N:M layers on the compressed kernels), evaluates top-1 and
 * top-5 on the held-out split before and after, and writes {@value #MODEL}, {@value #MASKS}, {@code sparsify.json} and
 * the report, each under a temporary name then renamed, {@code sparsify.json} last.
 *
 * <p>The learned methods train on the first {@code --calibration-size} images of the train split (labels for
 * learned-nm, unlabeled for allocation) with {@link AveragingMaskTrainer}: rounds of
 * workers x steps-per-round minibatches in a seeded order per epoch, a checkpoint of the vector and its optimizer
 * moments every {@code --checkpoint-every} rounds and at each epoch end ({@code --resume} continues it). The
 * prunable layers are all sparse layers (convolutions and hidden dense layers; the classifier stays dense).
 *
 * <p>{@code str-bn} removes filters instead of masking weights and trains on the driver: {@link StrBnRun}.
 */
public final class SparsifyJob {
  public static final String MODEL = "model.zip";
  public static final String MASKS = "masks.bin";
  public static final String CHECKPOINT = "checkpoints/state.bin";

  private SparsifyJob() {}

  /** What a run produced (also written to the output directory). */
  public record Result(Map<String, Object> summary, MaskSet masks, ComputationGraph model) {}

  public static Result run(SparkSession spark, SparsifyOptions o, Consumer<String> progress) {
    long t0 = System.nanoTime();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Configuration hconf = spark.sparkContext().hadoopConfiguration();
    // ---- preflight, before any Spark work
    Path out = new Path(o.output());
    FileSystem fs = fileSystem(out, hconf);
    checkOutput(fs, out, o);
    ComputationGraph original = loadModel(o.model(), hconf);
    MaskedNetwork originalNet = MaskedNetwork.of(original);
    if (originalNet.sparseLayers().isEmpty()) {
      throw new SparsifyException("--model " + o.model() + " has no convolution or hidden dense layer to sparsify");
    }
    MaskSet given = o.method() == SparsifyMethod.APPLY ? readMasks(o.masks(), hconf, originalNet) : null;
    if (o.method() == SparsifyMethod.ALLOCATION || o.distill()) {
      requireSoftmaxCrossEntropy(o, original);
    }
    Manifest manifest = readManifest(o, hconf);
    BatchOptions evalOpts = batchOptions(o, Math.max(o.batchSize(), 64));
    JavaRDD<DataSet> test = ParquetDataSets.dataSets(spark, o.data(), o.testSplit(), evalOpts);
    if (o.maxTestExamples() > 0) {
      JavaPairRDD<DataSet, Long> t = test.zipWithIndex();
      long keep = Math.max(1, batchesWithin(t.map(x -> x._1().numExamples()).collect(), o.maxTestExamples()));
      test = t.filter(x -> x._2() < keep).keys();
    }
    test.persist(StorageLevel.MEMORY_ONLY());
    progress.accept("sparsify " + o.method() + ": model " + o.model() + " (" + originalNet.sparseLayers().size()
        + " sparse layers), data " + o.data() + " (" + manifest.numClasses + " classes)");
    try {
      SparkEvaluation.Accuracy before = SparkEvaluation.top1(jsc, zip(original), test);
      progress.accept(String.format(Locale.ROOT, "top-1 before: %.4f (top-5 %.4f) on %d '%s' images", before.top1(),
          before.top5(), before.examples(), o.testSplit()));
      if (o.method() == SparsifyMethod.STR_BN) {
        return StrBnRun.run(o, original, jsc, test, before, fs, out, hconf, progress, t0);
      }
      // the batch-norm recalibration images, read once for the result and every baseline
      List<DataSet> recalibration = o.bnRecalibration() > 0
          ? firstTrainBatches(o, hconf, Math.max(o.batchSize(), 64), o.bnRecalibration(), true) : null;
      Map<String, Object> extra = new LinkedHashMap<>();
      long sparsifyStart = System.nanoTime();
      MaskSet masks;
      ComputationGraph base = original; // the weights the masks apply to (adjusted ones with --adjust-weights)
      List<PrunableLayer> all = originalNet.prunableLayers(); // copies every layer's weights: once
      Set<String> excluded = excludedLayers(o, all);
      List<PrunableLayer> prunable = all.stream().filter(l -> !excluded.contains(l.name())).toList();
      if (!excluded.isEmpty()) {
        progress.accept("kept dense (excluded): " + String.join(", ", excluded));
      }
      switch (o.method()) {
        case MAGNITUDE_NM:
          masks = magnitudeNm(prunable, o.n(), o.m(), o.groupOrder());
          break;
        case UNIFORM:
          masks = UniformAllocation.allocate(prunable, o.target()).toMasks(prunable);
          break;
        case ERK:
          masks = ErkAllocation.allocate(prunable, o.target()).toMasks(prunable);
          break;
        case APPLY:
          masks = given;
          break;
        default:
          Learned learned = learn(spark, jsc, o, original, excluded, fs, out, extra, progress, t0);
          masks = learned.masks();
          if (learned.weights() != null) {
            base = withWeights(original, learned.weights());
          }
          break;
      }
      ComputationGraph sparse = applyAndFreeze(base, masks, NmFormat.of(o.n(), o.m()));
      if (recalibration != null) {
        long rs = System.nanoTime();
        long used = recalibrate(o, sparse, recalibration);
        double seconds = (System.nanoTime() - rs) / 1e9;
        extra.put("bnRecalibrationImages", used);
        extra.put("bnRecalibrationSeconds", seconds);
        progress.accept(String.format(Locale.ROOT, "batch-norm statistics re-estimated on %d '%s' images in %.1f s",
            used, o.trainSplit(), seconds));
      }
      extra.put("sparsifySeconds", (System.nanoTime() - sparsifyStart) / 1e9
          + (extra.containsKey("resumedSeconds") ? ((Number) extra.get("resumedSeconds")).doubleValue() : 0));
      SparkEvaluation.Accuracy after = SparkEvaluation.top1(jsc, zip(sparse), test);
      Map<String, Object> baselines = new LinkedHashMap<>();
      if (o.method() == SparsifyMethod.LEARNED_NM) {
        baselines.put("magnitude-nm", SparkEvaluation.top1(jsc, zip(finish(o, original,
            magnitudeNm(prunable, o.n(), o.m(), o.groupOrder()), NmFormat.of(o.n(), o.m()), recalibration)), test).top1());
      } else if (o.method() == SparsifyMethod.ALLOCATION) {
        for (String b : List.of(UniformAllocation.NAME, ErkAllocation.NAME)) {
          MaskSet bm = (b.equals(UniformAllocation.NAME) ? UniformAllocation.allocate(prunable, o.target())
              : ErkAllocation.allocate(prunable, o.target())).toMasks(prunable);
          baselines.put(b, SparkEvaluation.top1(jsc, zip(finish(o, original, bm, null, recalibration)), test).top1());
        }
      }
      double wall = (System.nanoTime() - t0) / 1e9 + (extra.containsKey("resumedSeconds")
          ? ((Number) extra.remove("resumedSeconds")).doubleValue() : 0);
      Map<String, Object> summary = summary(o, masks, sparse, all, excluded, before, after, baselines, extra, wall);
      progress.accept(String.format(Locale.ROOT, "top-1 after: %.4f (before %.4f), global sparsity %.5f%s",
          after.top1(), before.top1(), (double) summary.get("achievedGlobalSparsity"),
          baselines.isEmpty() ? "" : ", baselines " + baselines));
      writeOutputs(fs, out, sparse, masks, summary);
      progress.accept("sparsify " + o.method() + ": done, " + new Path(out, SparsifyReport.HTML));
      return new Result(summary, masks, sparse);
    } catch (IOException e) {
      throw new SparsifyException("--output " + o.output() + ": " + e.getMessage(), e);
    } finally {
      test.unpersist(false);
    }
  }

  // ------------------------------------------------------------ learning

  /** What the learned methods produce: masks, and the adjusted weights per layer under --adjust-weights (else null). */
  record Learned(MaskSet masks, Map<String, float[]> weights) {}

  /** A copy of {@code original} with the given layers' weights replaced. */
  static ComputationGraph withWeights(ComputationGraph original, Map<String, float[]> weights) {
    ComputationGraph g = original.clone();
    MaskedNetwork net = MaskedNetwork.of(g);
    for (Map.Entry<String, float[]> e : weights.entrySet()) {
      net.sparseLayers().get(e.getKey()).setWeights(e.getValue());
    }
    return g;
  }

  private static Learned learn(SparkSession spark, JavaSparkContext jsc, SparsifyOptions o, ComputationGraph original,
      Set<String> excluded, FileSystem fs, Path out, Map<String, Object> extra, Consumer<String> progress, long t0)
      throws IOException {
    boolean nm = o.method() == SparsifyMethod.LEARNED_NM;
    MaskLearning settings = nm ? MaskLearning.learnedNm(o.n(), o.m(), o.tau(), o.straightThrough()).withNoiseSeed(o.seed())
        .withGroupOrder(o.groupOrder())
        : MaskLearning.threshold(1e-2, o.adjustWeights());
    ComputationGraph g = MaskLearningGraphs.prepare(original, settings, new Adam(o.learningRate()),
        name -> !excluded.contains(name), o.batchStatistics());
    List<MaskLearningLayer> layers = MaskLearningGraphs.learningLayers(g);
    int workers = o.workers() > 0 ? o.workers() : jsc.defaultParallelism();

    // ---- calibration minibatches, cached once
    BatchOptions opts = batchOptions(o, o.batchSize());
    JavaPairRDD<DataSet, Long> indexed = ParquetDataSets.dataSets(spark, o.data(), o.trainSplit(), opts).zipWithIndex();
    long keep = batchesWithin(indexed.map(t -> t._1().numExamples()).collect(), o.calibrationSize());
    indexed = indexed.filter(t -> t._2() < keep);
    indexed.persist(StorageLevel.MEMORY_ONLY());
    List<Integer> sizes = indexed.map(t -> t._1().numExamples()).collect();
    int numBatches = sizes.size();
    if (numBatches == 0) {
      throw new SparsifyException("--data " + o.data() + ": split '" + o.trainSplit() + "' is empty");
    }
    long calibration = sizes.stream().mapToLong(Integer::longValue).sum();
    int perRound = workers * o.stepsPerRound();
    int roundsPerEpoch = (numBatches + perRound - 1) / perRound;
    long totalSteps = (long) o.epochs() * ((numBatches + workers - 1) / workers);
    WorkerObjective objective = new WorkerObjective(o, totalSteps);

    ThresholdAllocator allocator = null;
    if (nm) {
      for (MaskLearningLayer l : layers) {
        l.initLogits(GumbelNmMask.builder().nm(o.n(), o.m()).init(o.logitInit()).seed(o.seed())
            .groupOrder(o.groupOrder()).build());
      }
    } else {
      allocator = objective.allocator(g);
      for (int l = 0; l < layers.size(); l++) {
        // straight-through bandwidth: the bridge's h in this layer's weight units
        double h = allocator.bridge(l).toWeightUnits(KernelDensityBridge.DEFAULT_BANDWIDTH);
        SparseLayerConfig c = (SparseLayerConfig) ((org.deeplearning4j.nn.api.Layer) layers.get(l)).conf().getLayer();
        c.setMaskLearning(c.getMaskLearning().withSteBandwidth(h));
      }
      allocator = calibrateAllocation(o, indexed, g, objective, extra, progress);
    }
    float[] init;
    int split;
    if (nm) {
      init = MaskLearningGraphs.learnedVector(g);
      split = init.length;
    } else {
      double[] t = allocator.thresholds();
      init = new float[WorkerObjective.vectorLength(layers, o.adjustWeights())];
      for (int i = 0; i < t.length; i++) {
        init[i] = (float) t[i];
      }
      split = t.length;
      if (o.adjustWeights()) { // the weights follow the thresholds, layer after layer
        int off = t.length;
        for (MaskLearningLayer l : layers) {
          float[] w = l.weights();
          System.arraycopy(w, 0, init, off, w.length);
          off += w.length;
        }
      }
    }
    AveragedAdamW optimizer = new AveragedAdamW(o.learningRate(), nm ? o.weightDecay() : 0, split,
        o.weightLearningRate(), new float[init.length], new float[init.length], 0);
    TrainerState state = new TrainerState(init, optimizer);
    int startEpoch = 0;
    int startRound = 0;
    double elapsedBefore = 0;
    Path cp = new Path(out, CHECKPOINT);
    if (fs.exists(cp)) {
      SparsifyCheckpoint c = SparsifyCheckpoint.fromBytes(read(fs, cp), cp.toString(), optimizer);
      if (!c.method().equals(o.method().cliName())) {
        throw new SparsifyException("cannot resume " + cp + ": it was written by --method " + c.method() + ", not "
            + o.method());
      }
      if (c.state().vector.length != init.length) {
        throw new SparsifyException("cannot resume " + cp + ": it holds " + c.state().vector.length
            + " learned parameters, this model and --n/--m give " + init.length + " (another model?)");
      }
      state = c.state();
      startEpoch = c.epoch();
      startRound = c.roundInEpoch();
      elapsedBefore = c.elapsedSeconds();
      progress.accept(String.format(Locale.ROOT, "resuming from %s: epoch %d, round %d, step %d", cp, startEpoch + 1,
          startRound, state.step()));
    }
    progress.accept(String.format(Locale.ROOT, "sparsify %s: %d calibration images in %d minibatches of %d, %d workers, "
            + "%d steps/round, %d rounds/epoch, %d epochs, %d learned parameters", o.method(), calibration, numBatches,
        o.batchSize(), workers, o.stepsPerRound(), roundsPerEpoch, o.epochs(), init.length));

    WorkerObjective.Model driver = new WorkerObjective.Model(g, allocator);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ModelSerializer.writeModel(g, bytes, false);
    long runStart = System.nanoTime();
    long roundsDone = 0;
    long totalRounds = (long) roundsPerEpoch * o.epochs();
    byte[] teacher = objective.distill ? zip(original) : null; // learned-nm --distill: the dense outputs' source
    try (MaskTrainer trainer = new AveragingMaskTrainer(jsc, bytes.toByteArray(), teacher, objective, workers)) {
      for (int epoch = startEpoch; epoch < o.epochs(); epoch++) {
        Broadcast<int[]> pos = jsc.broadcast(epochOrder(numBatches, o.seed(), epoch));
        for (int r = epoch == startEpoch ? startRound : 0; r < roundsPerEpoch; r++) {
          final int lo = r * perRound;
          final int hi = Math.min(lo + perRound, numBatches);
          // minibatch at position p goes to worker p mod workers, in position order: every worker gets its
          // share of the round in the same order on every run (and on a resumed one)
          JavaRDD<DataSet> chunk = indexed.filter(t -> {
            int p = pos.value()[(int) (long) t._2()];
            return p >= lo && p < hi;
          }).mapToPair(t -> new scala.Tuple2<>(pos.value()[(int) (long) t._2()], t._1()))
              .repartitionAndSortWithinPartitions(new WorkerPartitioner(workers)).values();
          jsc.setJobDescription(String.format(Locale.ROOT, "sparsify %s: epoch %d/%d round %d/%d", o.method(),
              epoch + 1, o.epochs(), r + 1, roundsPerEpoch));
          long rs = System.nanoTime();
          MaskTrainer.Round round = trainer.round(chunk, state);
          double seconds = (System.nanoTime() - rs) / 1e9;
          state = round.state();
          roundsDone++;
          objective.setVector(driver, state.vector);
          double sparsity = currentSparsity(driver, state.vector, nm);
          double elapsed = elapsedBefore + (System.nanoTime() - t0) / 1e9;
          double done = (long) epoch * roundsPerEpoch + r + 1;
          double eta = (System.nanoTime() - runStart) / 1e9 / roundsDone * (totalRounds - done);
          progress.accept(String.format(Locale.ROOT, "epoch %d/%d step %d round %d/%d loss %.4f sparsity %.4f "
                  + "(target %.4f) %.1f images/s elapsed %s eta %s", epoch + 1, o.epochs(), state.step(), r + 1,
              roundsPerEpoch, round.loss(), sparsity, o.target(), round.examples() / seconds, hms(elapsed), hms(eta)));
          boolean last = r + 1 == roundsPerEpoch;
          if (last || roundsDone % o.checkpointEveryRounds() == 0) {
            write(fs, cp, new SparsifyCheckpoint(o.method().cliName(), last ? epoch + 1 : epoch, last ? 0 : r + 1,
                elapsed, state).toBytes());
          }
        }
        pos.destroy();
      }
    } finally {
      indexed.unpersist(false);
    }
    objective.setVector(driver, state.vector);
    extra.put("calibrationExamples", calibration);
    extra.put("steps", state.step());
    extra.put("workers", workers);
    extra.put("resumedSeconds", elapsedBefore);
    if (nm) {
      return new Learned(MaskLearningGraphs.learnedMasks(g), null);
    }
    double[] t = new double[layers.size()];
    for (int i = 0; i < t.length; i++) {
      t[i] = state.vector[i];
    }
    Map<String, float[]> adjusted = null;
    if (o.adjustWeights()) {
      // the masks come from the adjusted weights: rebuild the allocator's bridges and layers on them
      adjusted = new LinkedHashMap<>();
      double change = 0;
      double norm = 0;
      MaskedNetwork before = MaskedNetwork.of(original);
      for (int l = 0; l < layers.size(); l++) {
        float[] w = layers.get(l).weights();
        float[] w0 = before.sparseLayers().get(layers.get(l).layerName()).weights();
        adjusted.put(layers.get(l).layerName(), w);
        for (int i = 0; i < w.length; i++) {
          change += (w[i] - w0[i]) * (double) (w[i] - w0[i]);
          norm += w0[i] * (double) w0[i];
        }
      }
      extra.put("weightRelativeChange", Math.sqrt(change / norm));
      progress.accept(String.format(Locale.ROOT, "adjusted weights: ||W - W0|| / ||W0|| = %.4f", Math.sqrt(change / norm)));
      allocator = objective.allocator(g);
    }
    allocator.setThresholds(t);
    extra.put("kdeGlobalSparsityBeforeCorrection", allocator.kdeGlobalSparsity());
    CorrectedAllocation corrected = allocator.exactCorrection();
    progress.accept(corrected.toTable().trim());
    double achieved = corrected.globalSparsity();
    if (Math.abs(achieved - o.target()) > SparsifyOptions.ALLOCATION_TOLERANCE) {
      throw new SparsifyException(String.format(Locale.ROOT, "the exact correction reached global sparsity %.5f, "
          + "more than 0.1 point from --target %.5f", achieved, o.target()));
    }
    List<Map<String, Object>> rows = new ArrayList<>();
    for (CorrectedAllocation.Row row : corrected.rows()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", row.name());
      m.put("learnedThreshold", row.learnedThreshold());
      m.put("learnedZeros", row.learnedZeros());
      m.put("correctedThreshold", row.correctedThreshold());
      rows.add(m);
    }
    extra.put("thresholdFactor", corrected.scaleFactor());
    extra.put("thresholds", rows);
    return new Learned(corrected.masks(), adjusted);
  }

  /** First minibatches of the calibration set used to choose the start and the control scale. */
  static final int PROBE_BATCHES = 4;

  /**
   * Before learning, on the first {@link #PROBE_BATCHES} calibration minibatches (no labels): measures L_rec at the
   * uniform and the ERK start and picks the start with the lower L_rec (unless one is forced), then sets the control
   * loss scale lambda_0 to the weight-weighted median over layers of |dL_rec/dt_l| (RMS over the probes) /
   * |dL_c/dt_l| at that start, so that L_c can hold the global rate against the reconstruction gradient in most
   * of the network (the plain sum L_rec + L_c cannot when L_rec is large: its gradients were 10-100x L_c's on
   * ResNet-20 at 70%, and the thresholds drifted below the target).
   */
  private static ThresholdAllocator calibrateAllocation(SparsifyOptions o, JavaPairRDD<DataSet, Long> indexed,
      ComputationGraph g, WorkerObjective objective, Map<String, Object> extra, Consumer<String> progress) {
    List<scala.Tuple2<DataSet, Long>> probe = new ArrayList<>(indexed.filter(t -> t._2() < PROBE_BATCHES).collect());
    probe.sort(java.util.Comparator.comparingLong(scala.Tuple2::_2));
    String forcedInit = o.allocationStart();
    List<ThresholdAllocator.Init> candidates = forcedInit.equals("best")
        ? List.of(ThresholdAllocator.Init.UNIFORM, ThresholdAllocator.Init.ERK)
        : List.of(ThresholdAllocator.Init.valueOf(forcedInit.toUpperCase(Locale.ROOT)));
    ThresholdAllocator best = null;
    double bestKl = Double.POSITIVE_INFINITY;
    double[] bestRms = null;
    Map<String, Object> probeKl = new LinkedHashMap<>();
    for (ThresholdAllocator.Init init : candidates) {
      objective.init = init;
      objective.controlScale = 1;
      ThresholdAllocator a = objective.allocator(g);
      WorkerObjective.Model m = new WorkerObjective.Model(g, a);
      double[] t = a.thresholds();
      float[] v = new float[t.length];
      for (int i = 0; i < t.length; i++) {
        v[i] = (float) t[i];
      }
      double kl = 0;
      double[] sq = new double[t.length];
      for (scala.Tuple2<DataSet, Long> b : probe) {
        WorkerObjective.Reconstruction r = objective.reconstruction(m, v, b._1());
        kl += r.kl() / probe.size();
        for (int l = 0; l < sq.length; l++) {
          sq[l] += r.gradient()[l] * r.gradient()[l] / probe.size();
        }
      }
      probeKl.put(init.name().toLowerCase(Locale.ROOT), kl);
      progress.accept(String.format(Locale.ROOT, "allocation start %s: L_rec %.4f on %d calibration minibatches",
          init.name().toLowerCase(Locale.ROOT), kl, probe.size()));
      if (kl < bestKl) {
        bestKl = kl;
        best = a;
        bestRms = sq;
      }
    }
    objective.init = best.config().init();
    double scale;
    if (o.controlScale() == null) {
      // weight-weighted median over layers of price_l = RMS(dL_rec/dt_l) / |dL_c/dt_l|, dL_c/dt_l = N_l / N dr_l/dt_l
      int n = bestRms.length;
      double total = 0;
      for (PrunableLayer l : best.layers()) {
        total += l.size();
      }
      double[] price = new double[n];
      Integer[] order = new Integer[n];
      for (int l = 0; l < n; l++) {
        order[l] = l;
        double c = best.layers().get(l).size() / total * best.bridge(l).derivative(best.thresholds()[l]);
        price[l] = Math.sqrt(bestRms[l]) / Math.max(c, 1e-12);
      }
      java.util.Arrays.sort(order, java.util.Comparator.comparingDouble(l -> price[l]));
      scale = price[order[n - 1]];
      double acc = 0;
      for (int k = 0; k < n; k++) {
        acc += best.layers().get(order[k]).size();
        if (acc >= 0.5 * total) {
          scale = price[order[k]];
          break;
        }
      }
    } else {
      scale = o.controlScale();
    }
    objective.controlScale = scale;
    ThresholdAllocator a = objective.allocator(g);
    progress.accept(String.format(Locale.ROOT, "allocation: start %s, control scale lambda_0 %.4g (x --control-weight %s)",
        objective.init.name().toLowerCase(Locale.ROOT), scale, objective.controlWeight));
    extra.put("allocationStart", objective.init.name().toLowerCase(Locale.ROOT));
    extra.put("probeReconstructionLoss", probeKl);
    extra.put("controlScale", scale);
    return a;
  }

  private static double currentSparsity(WorkerObjective.Model model, float[] vector, boolean nm) {
    if (nm) {
      MaskSet m = MaskLearningGraphs.learnedMasks(model.graph);
      return m.zeroCount() / (double) m.weightCount();
    }
    double[] t = new double[model.layers.size()];
    for (int i = 0; i < t.length; i++) {
      t[i] = vector[i];
    }
    model.allocator.setThresholds(t); // the allocator's own copy, not only the graph's
    return model.allocator.countedGlobalSparsity();
  }

  // ------------------------------------------------------------ masks and models

  /**
   * The sparse layers {@code --exclude} and {@code --exclude-first-conv} keep dense, in network order.
   *
   * @throws SparsifyException naming an {@code --exclude} entry that is not a sparse layer of the model
   */
  static Set<String> excludedLayers(SparsifyOptions o, List<PrunableLayer> layers) {
    Set<String> names = new LinkedHashSet<>();
    layers.forEach(l -> names.add(l.name()));
    for (String e : o.exclude()) {
      if (!names.contains(e)) {
        throw new SparsifyException("--exclude " + e + ": --model " + o.model() + " has no sparse layer of that name; "
            + "its sparse layers are " + names);
      }
    }
    Set<String> out = new LinkedHashSet<>();
    String first = o.excludeFirstConv() ? GlobalSparsityController.firstConv(layers) : null;
    for (String n : names) {
      if (n.equals(first) || o.exclude().contains(n)) {
        out.add(n);
      }
    }
    if (out.size() == names.size()) {
      throw new SparsifyException("--exclude " + String.join(",", o.exclude()) + (o.excludeFirstConv()
          ? " --exclude-first-conv" : "") + " leaves no layer of --model " + o.model() + " to sparsify");
    }
    return out;
  }

  static MaskSet magnitudeNm(List<PrunableLayer> layers, int n, int m, NmGroupOrder order) {
    NmMagnitudePruner p = new NmMagnitudePruner(n, m, order);
    MaskSet.Builder b = MaskSet.builder();
    for (PrunableLayer l : layers) {
      b.put(l.name(), p.makeMask(l));
    }
    return b.build();
  }

  /**
   * A baseline's model: the masked, frozen copy of {@code original}, recalibrated on {@code recalibration} like
   * the result when that is not null.
   */
  static ComputationGraph finish(SparsifyOptions o, ComputationGraph original, MaskSet masks, NmFormat nm,
      List<DataSet> recalibration) {
    ComputationGraph g = applyAndFreeze(original, masks, nm);
    if (recalibration != null) {
      recalibrate(o, g, recalibration);
    }
    return g;
  }

  /** Re-estimates {@code g}'s batch-norm statistics on the first {@code --bn-recalibration} of these images. */
  private static long recalibrate(SparsifyOptions o, ComputationGraph g, List<DataSet> batches) {
    try {
      return BnRecalibration.recalibrate(g, batches.iterator(), o.bnRecalibration());
    } catch (IllegalArgumentException e) {
      throw new SparsifyException("--bn-recalibration " + o.bnRecalibration() + " on --model " + o.model() + ": "
          + e.getMessage(), e);
    }
  }

  /** How every split is read: minibatches of {@code batchSize}, the run's input scaling and seed, no augmentation. */
  private static BatchOptions batchOptions(SparsifyOptions o, int batchSize) {
    return batchOptionsBuilder(o, batchSize).build();
  }

  /** Minibatches of {@code batchSize} normalised as {@code o} says, seeded by its seed (add augmentation to taste). */
  static BatchOptions.Builder batchOptionsBuilder(SparsifyOptions o, int batchSize) {
    return BatchOptions.builder().batchSize(batchSize).normalization(o.normalize()
        ? BatchOptions.Normalization.UNIT : BatchOptions.Normalization.NONE).seed(o.seed());
  }

  /**
   * The first minibatches of {@code batchSize} of the train split, read on the driver: the whole ones holding at
   * most {@code maxImages} images (at least one), or with {@code cover} up to the first that reaches
   * {@code maxImages}.
   *
   * @throws SparsifyException if the split is empty
   */
  static List<DataSet> firstTrainBatches(SparsifyOptions o, Configuration hconf, int batchSize, long maxImages,
      boolean cover) {
    BatchOptions opts = batchOptions(o, batchSize);
    List<DataSet> batches = new ArrayList<>();
    long n = 0;
    ShardDataSetIterator it = ParquetDataSets.localIterator(o.data(), o.trainSplit(), opts, hconf);
    while (it.hasNext() && n < maxImages) {
      DataSet d = it.next();
      if (!cover && !batches.isEmpty() && n + d.numExamples() > maxImages) {
        break;
      }
      batches.add(d);
      n += d.numExamples();
    }
    if (batches.isEmpty()) {
      throw new SparsifyException("--data " + o.data() + ": split '" + o.trainSplit() + "' is empty");
    }
    return batches;
  }

  /** A copy of {@code original} holding {@code masks}, frozen; layers whose mask is {@code nm} use the compressed kernels. */
  static ComputationGraph applyAndFreeze(ComputationGraph original, MaskSet masks, NmFormat nm) {
    ComputationGraph copy = original.clone();
    MaskedNetwork net = MaskedNetwork.of(copy);
    net.unfreeze();
    net.applyMasks(masks);
    net.freeze(nm);
    return copy;
  }

  /**
   * The KL objectives (allocation, learned-nm --distill) train on DL4J's cross-entropy against the dense model's
   * probabilities, which is the KL's gradient only for one softmax output with MCXENT (or negative log-likelihood)
   * loss.
   */
  static void requireSoftmaxCrossEntropy(SparsifyOptions o, ComputationGraph g) {
    String what = o.method() == SparsifyMethod.ALLOCATION ? "--method allocation" : "--distill";
    if (g.getNumOutputArrays() != 1) {
      throw new SparsifyException(what + " needs a model with one output, --model " + o.model() + " has "
          + g.getNumOutputArrays());
    }
    String name = g.getConfiguration().getNetworkOutputs().get(0);
    GraphVertex v = g.getConfiguration().getVertices().get(name);
    BaseOutputLayer out = v instanceof LayerVertex lv && lv.getLayerConf().getLayer() instanceof BaseOutputLayer layer ? layer : null;
    if (out != null && out.getActivationFn() instanceof ActivationSoftmax
        && out.getLossFn() instanceof LossMCXENT) { // LossNegativeLogLikelihood too
      return;
    }
    String found = out != null ? "activation " + out.getActivationFn() + ", loss " + out.getLossFn()
        : v.getClass().getSimpleName();
    throw new SparsifyException(what + " learns on the KL divergence to the dense model's softmax outputs: it needs "
        + "an output layer with softmax activation and MCXENT loss, --model " + o.model() + " output '" + name + "' has "
        + found);
  }

  static byte[] zip(ComputationGraph g) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    ModelSerializer.writeModel(g, b, false);
    return b.toByteArray();
  }

  /**
   * The model of {@code --model}: a DL4J model zip (ComputationGraph or MultiLayerNetwork), a train job's output
   * directory (its latest checkpoint) or one checkpoint directory; converted to sparse layers.
   */
  static ComputationGraph loadModel(String path, Configuration hconf) {
    Path p = new Path(path);
    try {
      FileSystem fs = p.getFileSystem(hconf);
      if (!fs.exists(p)) {
        throw new SparsifyException("--model " + path + " does not exist");
      }
      Path zip = p;
      if (fs.getFileStatus(p).isDirectory()) {
        Path latest = new Path(new Path(p, "checkpoints"), "LATEST");
        if (fs.exists(latest)) {
          String name = new String(read(fs, latest), StandardCharsets.UTF_8).trim();
          zip = new Path(new Path(new Path(p, "checkpoints"), name), "model.zip");
        } else {
          zip = new Path(p, "model.zip");
        }
        if (!fs.exists(zip)) {
          throw new SparsifyException("--model " + path + " is a directory without a model: expected a train output "
              + "directory (checkpoints/LATEST) or a checkpoint directory (model.zip)");
        }
      }
      byte[] bytes = read(fs, zip);
      ComputationGraph g;
      try {
        g = ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(bytes), false);
      } catch (Exception notGraph) {
        try {
          MultiLayerNetwork mln = ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(bytes), false);
          g = mln.toComputationGraph();
        } catch (Exception e) {
          throw new SparsifyException("--model " + zip + " is not a DL4J model zip: " + notGraph.getMessage(), e);
        }
      }
      return SparseConversion.toSparse(g);
    } catch (IOException e) {
      throw new SparsifyException("--model " + path + ": cannot read: " + e.getMessage(), e);
    }
  }

  /** Reads a mask set and checks it against the model's sparse layers (names and shapes). */
  static MaskSet readMasks(String path, Configuration hconf, MaskedNetwork net) {
    Path p = new Path(path);
    MaskSet masks;
    try {
      FileSystem fs = p.getFileSystem(hconf);
      if (!fs.exists(p)) {
        throw new SparsifyException("--masks " + path + " does not exist");
      }
      masks = MaskSet.fromBytes(read(fs, p));
    } catch (MalformedMaskException e) {
      throw new SparsifyException("--masks " + path + ": " + e.getMessage(), e);
    } catch (IOException e) {
      throw new SparsifyException("--masks " + path + ": cannot read: " + e.getMessage(), e);
    }
    Map<String, SparseLayer> layers = net.sparseLayers();
    for (Map.Entry<String, Mask> e : masks.asMap().entrySet()) {
      SparseLayer l = layers.get(e.getKey());
      if (l == null) {
        throw new SparsifyException("--masks " + path + " does not match the model: it has a mask for layer '"
            + e.getKey() + "', the model's sparse layers are " + layers.keySet());
      }
      if (!l.maskShape().equals(e.getValue().shape())) {
        throw new SparsifyException("--masks " + path + " does not match the model: layer '" + e.getKey()
            + "' has shape " + l.maskShape() + ", the mask " + e.getValue().shape());
      }
    }
    return masks;
  }

  static Manifest readManifest(SparsifyOptions o, Configuration hconf) {
    Manifest m;
    try {
      m = Manifest.read(o.data(), hconf);
    } catch (RuntimeException e) {
      throw new SparsifyException("--data " + o.data() + ": " + e.getMessage(), e);
    }
    List<String> splits = new ArrayList<>(List.of(o.testSplit()));
    if (o.method().isLearned()) {
      splits.add(o.trainSplit());
    }
    for (String s : splits) {
      if (m.splits.get(s) == null || m.shardPaths(s).isEmpty()) {
        throw new SparsifyException("--data " + o.data() + " has no split '" + s + "' (it has " + m.splits.keySet() + ")");
      }
    }
    return m;
  }

  private static void checkOutput(FileSystem fs, Path out, SparsifyOptions o) {
    try {
      if (fs.exists(new Path(out, SparsifyReport.JSON)) && !o.overwrite()) {
        throw new SparsifyException("--output " + o.output() + " already holds a finished run (" + SparsifyReport.JSON
            + "); pass --overwrite or choose another directory");
      }
      if (fs.exists(new Path(out, CHECKPOINT)) && !o.resume() && !o.overwrite()) {
        throw new SparsifyException("--output " + o.output() + " holds checkpoint " + CHECKPOINT + " of an unfinished run: "
            + "pass --resume to continue it, or --overwrite to start again");
      }
      if (fs.exists(new Path(out, CHECKPOINT)) && o.overwrite() && !o.resume()) {
        fs.delete(new Path(out, CHECKPOINT), false);
      }
      fs.mkdirs(out);
    } catch (IOException e) {
      throw new SparsifyException("--output " + o.output() + " is not writable: " + e.getMessage(), e);
    }
  }

  private static FileSystem fileSystem(Path p, Configuration conf) {
    try {
      return p.getFileSystem(conf);
    } catch (IOException e) {
      throw new SparsifyException("--output " + p + ": " + e.getMessage(), e);
    }
  }

  // ------------------------------------------------------------ outputs

  private static Map<String, Object> summary(SparsifyOptions o, MaskSet masks, ComputationGraph sparse,
      List<PrunableLayer> original, Set<String> excluded, SparkEvaluation.Accuracy before, SparkEvaluation.Accuracy after, Map<String, Object> baselines,
      Map<String, Object> extra, double wall) {
    MaskedNetwork net = MaskedNetwork.of(sparse);
    MaskSet held = net.masks();
    List<String> compressed = net.compressedLayers();
    List<Map<String, Object>> layers = new ArrayList<>();
    long zeros = 0;
    long weights = 0;
    Map<String, PrunableLayer> originalByName = new LinkedHashMap<>();
    original.forEach(l -> originalByName.put(l.name(), l));
    for (Map.Entry<String, Mask> e : held.asMap().entrySet()) {
      if (!excluded.contains(e.getKey())) { // the global rate is over the layers the method sparsifies
        zeros += e.getValue().zeroCount();
        weights += e.getValue().size();
      }
      Map<String, Object> l = new LinkedHashMap<>();
      l.put("name", e.getKey());
      l.put("shape", e.getValue().shape().toString());
      l.put("weights", e.getValue().size());
      l.put("zeros", e.getValue().zeroCount());
      l.put("sparsity", e.getValue().sparsity());
      NmGroupOrder order = net.sparseLayers().get(e.getKey()).frozenGroupOrder();
      l.put("kernel", compressed.contains(e.getKey()) ? "compressed " + o.n() + ":" + o.m()
          + (order == NmGroupOrder.KERNEL ? "" : " " + order.label() + "-wise")
          : excluded.contains(e.getKey()) ? "dense (excluded)" : "dense");
      PrunableLayer w = originalByName.get(e.getKey());
      if (w != null) {
        l.put("keptWeightEnergy", keptEnergy(w.weights(), e.getValue()));
      }
      layers.add(l);
    }
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("formatVersion", 1);
    s.put("method", o.method().cliName());
    s.put("targetSparsity", o.method() == SparsifyMethod.APPLY ? null : o.target());
    if (o.method().isNm()) {
      s.put("nm", o.n() + ":" + o.m());
    }
    s.put("achievedGlobalSparsity", zeros / (double) weights);
    s.put("zeros", zeros);
    s.put("weights", weights);
    s.put("excludedLayers", List.copyOf(excluded));
    s.put("top1Before", before.top1());
    s.put("top1After", after.top1());
    s.put("top5Before", before.top5());
    s.put("top5After", after.top5());
    s.put("testExamples", after.examples());
    s.put("baselines", baselines);
    s.put("wallSeconds", wall);
    s.put("maskChecksum", MaskChecksum.hex(masks.checksum()));
    s.put("compressedLayers", compressed);
    s.putAll(extra);
    s.put("layers", layers);
    s.put("options", o.asMap());
    return s;
  }

  /**
   * Sum of w^2 over the weights {@code mask} keeps, over the sum over all weights of the original layer (1 for an
   * all-zero layer): how much of the layer a mask keeps before any recalibration. Magnitude 2:4 keeps about 0.868 of
   * i.i.d. Gaussian weights.
   */
  static double keptEnergy(float[] weights, Mask mask) {
    double all = 0;
    double kept = 0;
    for (int i = 0; i < weights.length; i++) {
      double v = (double) weights[i] * weights[i];
      all += v;
      if (mask.isKept(i)) {
        kept += v;
      }
    }
    return all > 0 ? kept / all : 1.0;
  }

  private static void writeOutputs(FileSystem fs, Path out, ComputationGraph sparse, MaskSet masks,
      Map<String, Object> summary) throws IOException {
    write(fs, new Path(out, MODEL), zip(sparse));
    write(fs, new Path(out, MASKS), masks.toBytes());
    write(fs, new Path(out, SparsifyReport.LAYERS_PNG), SparsifyReport.layerPng(summary));
    write(fs, new Path(out, SparsifyReport.HTML), SparsifyReport.html(summary));
    write(fs, new Path(out, SparsifyReport.JSON), SparsifyReport.json(summary)); // last: marks a finished run
    Path cp = new Path(out, CHECKPOINT);
    if (fs.exists(cp)) {
      fs.delete(cp.getParent(), true); // finished: the checkpoint is no longer needed
    }
  }

  /** Writes under a temporary sibling name, then renames over the target. */
  public static void write(FileSystem fs, Path p, byte[] bytes) throws IOException {
    fs.mkdirs(p.getParent());
    Path tmp = new Path(p.getParent(), "_tmp-" + p.getName() + "-" + UUID.randomUUID());
    try (OutputStream os = fs.create(tmp, true)) {
      os.write(bytes);
    }
    if (fs.exists(p)) {
      fs.delete(p, false);
    }
    if (!fs.rename(tmp, p)) {
      throw new IOException("rename " + tmp + " -> " + p + " failed");
    }
  }

  private static byte[] read(FileSystem fs, Path p) throws IOException {
    try (InputStream in = fs.open(p)) {
      return in.readAllBytes();
    }
  }

  // ------------------------------------------------------------ small helpers

  /** Minibatch position p to worker p mod workers. */
  static final class WorkerPartitioner extends org.apache.spark.Partitioner {
    private static final long serialVersionUID = 1L;
    private final int workers;

    WorkerPartitioner(int workers) {
      this.workers = workers;
    }

    @Override
    public int numPartitions() {
      return workers;
    }

    @Override
    public int getPartition(Object key) {
      return (Integer) key % workers;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof WorkerPartitioner w && w.workers == workers;
    }

    @Override
    public int hashCode() {
      return workers;
    }
  }

  /** How many leading minibatches hold at most {@code max} examples (at least one). */
  static long batchesWithin(List<Integer> sizes, int max) {
    long n = 0;
    long k = 0;
    for (int s : sizes) {
      if (k > 0 && n + s > max) {
        break;
      }
      n += s;
      k++;
    }
    return k;
  }
}
