package io.sparsetrain.jobs.throughput;

import io.sparsetrain.dataprep.BatchOptions;
import io.sparsetrain.dataprep.Manifest;
import io.sparsetrain.dataprep.ParquetDataSets;
import io.sparsetrain.jobs.throughput.ThroughputOptions.Phase;
import io.sparsetrain.jobs.train.TrainException;
import io.sparsetrain.jobs.train.TrainJob;
import io.sparsetrain.jobs.train.config.TrainConfig;
import io.sparsetrain.jobs.train.model.ModelFactory;
import io.sparsetrain.jobs.train.model.PrunableModel;
import io.sparsetrain.jobs.train.pruning.DriverPruningControl;
import io.sparsetrain.jobs.train.spark.DistributedTrainer;
import io.sparsetrain.jobs.train.spark.Dl4jParameterAveragingTrainer;
import io.sparsetrain.jobs.train.spark.WorkerMasks;
import io.sparsetrain.prune.MaskChecksum;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Training throughput of a train-job configuration, measured in ONE Spark application with the train job's own
 * classes: the network of {@link ModelFactory}, masks computed and frozen by {@link DriverPruningControl} exactly
 * as at the end of a pruning era, and averaging rounds run by {@link Dl4jParameterAveragingTrainer} with the
 * workers enforcing and checking the masks ({@link WorkerMasks}).
 *
 * <p>Cases: every phase ({@link Phase}) at every worker count, with the configuration's batch size per worker and
 * averaging frequency, so that 1 vs 2 workers differ only in how many workers share a round. Each case starts from
 * the same freshly initialised network (train.seed) and runs its warm-up rounds (not timed); then the measured
 * rounds run interleaved across the cases. A round's images/s is its images over the wall time of
 * {@code fitRound}, as the train job reports it. The minibatches are the first full minibatches of the training
 * split (cached once), used round-robin.
 */
public final class ThroughputBenchmark {
  private ThroughputBenchmark() {}

  /**
   * Runs every case and returns the report (not yet written).
   *
   * @param progress receives one line per case and round
   */
  public static ThroughputReport run(SparkSession spark, TrainConfig c, ThroughputOptions o,
      Consumer<String> progress) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Configuration hconf = spark.sparkContext().hadoopConfiguration();
    Map<String, String> saved = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : c.hadoop().entrySet()) {
      saved.put(e.getKey(), hconf.get(e.getKey()));
      hconf.set(e.getKey(), e.getValue());
    }
    try {
      return runInternal(spark, jsc, hconf, c, o, progress);
    } finally {
      saved.forEach((k, v) -> {
        if (v == null) {
          hconf.unset(k);
        } else {
          hconf.set(k, v);
        }
      });
      jsc.setJobDescription(null);
    }
  }

  private static ThroughputReport runInternal(SparkSession spark, JavaSparkContext jsc, Configuration hconf,
      TrainConfig c, ThroughputOptions o, Consumer<String> progress) {
    Manifest manifest = TrainJob.readManifest(c, hconf);
    int channels = manifest.image.channels;
    int height = manifest.image.height;
    int width = manifest.image.width;
    int maxWorkers = o.workerCounts().stream().mapToInt(Integer::intValue).max().orElse(1);
    int batchesPerRoundMax = maxWorkers * c.averagingFrequency();
    int roundsPerCase = o.warmupRounds() + o.rounds();

    // the first full minibatches of the training split, enough for every round of the largest case (or all)
    BatchOptions opts = BatchOptions.builder().batchSize(c.batchSizePerWorker())
        .normalization("none".equals(c.normalization()) ? BatchOptions.Normalization.NONE
            : BatchOptions.Normalization.UNIT)
        .randomCrop(c.randomCropPadding()).horizontalFlip(c.horizontalFlip()).seed(c.seed()).dropLast(true).build();
    jsc.setJobDescription("throughput " + c.name() + ": read and cache the '" + c.trainSplit() + "' minibatches");
    long wanted = (long) batchesPerRoundMax * roundsPerCase;
    JavaPairRDD<DataSet, Long> indexed = ParquetDataSets.dataSets(spark, c.dataPath(), c.trainSplit(), opts)
        .zipWithIndex().filter(t -> t._2() < wanted);
    indexed.persist(StorageLevel.MEMORY_ONLY());
    long available = indexed.count();
    if (available < batchesPerRoundMax) {
      throw new TrainException("train.data.path=" + c.dataPath() + ": split '" + c.trainSplit() + "' has "
          + available + " full minibatches of " + c.batchSizePerWorker() + ", a round of " + maxWorkers
          + " workers needs " + batchesPerRoundMax);
    }

    Map<String, Object> setup = new LinkedHashMap<>();
    setup.put("name", c.name());
    setup.put("model", c.modelSource() == TrainConfig.ModelSource.BUILDER ? c.modelBuilder() : c.modelPath());
    setup.put("layers", c.modelLayers());
    setup.put("input", channels + "x" + height + "x" + width + ", " + manifest.numClasses + " classes");
    setup.put("optimizer", c.optimizer().name().toLowerCase(Locale.ROOT));
    setup.put("batchSizePerWorker", c.batchSizePerWorker());
    setup.put("averagingFrequency", c.averagingFrequency());
    setup.put("warmupRounds", o.warmupRounds());
    setup.put("measuredRounds", o.rounds());
    setup.put("minibatchesUsed", available);
    setup.put("nm", c.n() + ":" + c.m());
    setup.put("combinedSparsity", o.combinedSparsity());
    setup.put("master", spark.sparkContext().master());
    setup.put("executors", spark.sparkContext().getExecutorMemoryStatus().size() - (spark.sparkContext().isLocal()
        ? 0 : 1));
    progress.accept(String.format(Locale.ROOT, "throughput %s: %s, phases %s x workers %s, %d warm-up + %d measured "
            + "rounds per case, %d cached minibatches of %d", c.name(), setup.get("model"), names(o.phases()),
        o.workerCounts(), o.warmupRounds(), o.rounds(), available, c.batchSizePerWorker()));

    // every case gets its network, masks and trainer; the warm-up rounds run case by case, then the measured
    // rounds are interleaved (round 1 of every case, round 2 of every case, ...) so that a drift of the machine
    // (JIT compilation, other load) spreads over all cases instead of favouring the last ones
    List<CaseRun> runs = new ArrayList<>();
    try {
      for (Phase phase : o.phases()) {
        for (int workers : o.workerCounts()) {
          runs.add(new CaseRun(jsc, indexed, available, c, o, phase, workers, manifest, hconf, progress));
        }
      }
      for (CaseRun run : runs) {
        for (int r = 0; r < o.warmupRounds(); r++) {
          run.round(true);
        }
      }
      for (int r = 0; r < o.rounds(); r++) {
        for (CaseRun run : runs) {
          run.round(false);
        }
      }
      List<ThroughputReport.Case> cases = new ArrayList<>();
      for (CaseRun run : runs) {
        cases.add(run.result());
      }
      return new ThroughputReport(setup, cases);
    } finally {
      for (CaseRun run : runs) {
        run.trainer.close();
      }
      indexed.unpersist(false);
    }
  }

  private static List<String> names(List<Phase> phases) {
    List<String> n = new ArrayList<>();
    for (Phase p : phases) {
      n.add(p.cliName());
    }
    return n;
  }

  /**
   * The configuration whose pruning control builds the masks of {@code phase}: the run's own configuration for the
   * dense phase; N:M or combined at the phase's sparsity, with an era of one step, for the frozen phases.
   */
  static TrainConfig phaseConfig(TrainConfig c, Phase phase, ThroughputOptions o) {
    TrainConfig.Builder b = c.toBuilder().startEpoch(0).lengthEpochs(1).initialSparsity(0.0);
    switch (phase) {
      case FROZEN_NM:
        // N:M fixes the sparsity by structure; the control raises the target to the N:M share
        return b.pattern(TrainConfig.PruningPattern.NM).finalSparsity(1.0 - (double) c.n() / c.m()).build();
      case FROZEN_COMBINED:
        return b.pattern(TrainConfig.PruningPattern.COMBINED).finalSparsity(o.combinedSparsity()).build();
      default:
        return c;
    }
  }

  /** One case: a phase at a worker count, with its own network, masks, trainer and measured rounds. */
  private static final class CaseRun {
    final JavaSparkContext jsc;
    final JavaPairRDD<DataSet, Long> indexed;
    final TrainConfig c;
    final TrainConfig pc;
    final ThroughputOptions o;
    final Phase phase;
    final int workers;
    final Consumer<String> progress;
    final DriverPruningControl control;
    final DistributedTrainer trainer;
    final boolean shipMasks;
    final double sparsity;
    final String name;
    final int batchesPerRound;
    final long chunks;
    final long imagesPerRound;
    final double[] seconds;
    PrunableModel model;
    long step;
    int done;
    int measured;
    List<String> compressed = new ArrayList<>();
    long maskChecks;

    CaseRun(JavaSparkContext jsc, JavaPairRDD<DataSet, Long> indexed, long available, TrainConfig c,
        ThroughputOptions o, Phase phase, int workers, Manifest manifest, Configuration hconf,
        Consumer<String> progress) {
      this.jsc = jsc;
      this.indexed = indexed;
      this.c = c;
      this.o = o;
      this.phase = phase;
      this.workers = workers;
      this.progress = progress;
      // the same freshly initialised network for every case; frozen phases get their masks as at an era's end
      this.pc = phaseConfig(c, phase, o);
      this.model = TrainJob.wrap(pc, ModelFactory.create(pc, manifest.image.channels, manifest.image.height,
          manifest.image.width, manifest.numClasses, hconf), null, false);
      this.control = new DriverPruningControl(pc, 1, model.classifierPrunable());
      if (phase != Phase.DENSE) {
        step = control.schedule().endStep();
        DriverPruningControl.RoundOutcome out = control.afterRound(model, step);
        if (!out.frozen()) {
          throw new IllegalStateException("masks of phase " + phase.cliName() + " did not freeze at step " + step);
        }
        step++;
      }
      model.graph().setLearningRate(c.learningRateAt(0));
      // as the train job: masks (or, for sparse layers, their checksums) go to the workers when pruning is on
      this.shipMasks = pc.pruningEnabled() && (model.masksInParameters() || model.masks().size() > 0);
      this.sparsity = phase == Phase.DENSE ? 0.0 : control.globalSparsity(model);
      this.name = phase.cliName() + "-" + workers + "w";
      String exportDir = new Path(new Path(c.outputDir(), "work"), "dl4j-export-" + name).toString();
      this.trainer = new Dl4jParameterAveragingTrainer(jsc, model.graph(),
          new Dl4jParameterAveragingTrainer.Settings(workers, c.batchSizePerWorker(), c.averagingFrequency(),
              c.workerPrefetchBatches(), c.repartition(), c.trainingApproach(), exportDir, c.seed()));
      this.batchesPerRound = workers * c.averagingFrequency();
      this.chunks = available / batchesPerRound;
      this.imagesPerRound = (long) batchesPerRound * c.batchSizePerWorker();
      this.seconds = new double[o.rounds()];
      progress.accept(String.format(Locale.ROOT, "case %s: %d worker(s), %d images/round, global sparsity %.4f%s",
          name, workers, imagesPerRound, sparsity, model.masks().size() > 0 && model.isFrozen()
              ? ", frozen masks " + MaskChecksum.hex(model.masks().checksum()) + ", "
                  + model.compressedLayers().size() + " layers on compressed kernels (driver)" : ""));
    }

    /** One averaging round on the next chunk of minibatches (round-robin over the cached ones). */
    void round(boolean warmup) {
      long lo = (done % chunks) * batchesPerRound;
      long hi = lo + batchesPerRound;
      JavaRDD<DataSet> chunk = indexed.filter(t -> t._2() >= lo && t._2() < hi).keys();
      WorkerMasks masks = shipMasks ? control.workerMasks(model, step) : null;
      String label = warmup ? "warm-up round " + (done + 1) + "/" + o.warmupRounds()
          : "round " + (measured + 1) + "/" + o.rounds();
      jsc.setJobDescription("throughput " + c.name() + ": " + name + " " + label);
      long t0 = System.nanoTime();
      DistributedTrainer.RoundResult round = trainer.fitRound(chunk, masks);
      double s = (System.nanoTime() - t0) / 1e9;
      if (trainer.network() != model.graph()) {
        model = TrainJob.wrap(pc, trainer.network(), model.masks(), model.isFrozen());
      }
      if (phase != Phase.DENSE) {
        control.afterRound(model, step); // re-masks the averaged parameters, as the job does after the freeze
      }
      step++;
      done++;
      if (!warmup) {
        seconds[measured++] = s;
        compressed = new ArrayList<>(round.workerCompressedLayers());
        maskChecks += round.workerMaskChecks();
      }
      progress.accept(String.format(Locale.ROOT, "case %s %s: %.2f s, %.1f images/s, loss %.4f%s", name, label, s,
          imagesPerRound / s, round.loss(), round.workerCompressedLayers().isEmpty() ? ""
              : ", workers ran " + round.workerCompressedLayers().size() + " layers compressed"));
    }

    ThroughputReport.Case result() {
      String label = phase == Phase.FROZEN_COMBINED
          ? String.format(Locale.ROOT, "%s %.0f%%", phase.label(), 100 * o.combinedSparsity())
          : phase == Phase.FROZEN_NM ? "frozen " + c.n() + ":" + c.m() + " (compressed)" : phase.label();
      return new ThroughputReport.Case(phase.cliName(), label, workers, imagesPerRound, seconds.clone(), sparsity,
          compressed, maskChecks);
    }
  }
}
