package io.sparsetrain.jobs.train.spark;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.api.RepartitionStrategy;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * {@link DistributedTrainer} on DL4J Spark's synchronous parameter averaging ({@link SparkComputationGraph} +
 * {@link ParameterAveragingTrainingMaster}). Each {@link #fitRound} is one {@code fit} on a chunk sized to exactly one
 * DL4J "split" (workers x batchSizePerWorker x averagingFrequency examples), so DL4J averages once per call and
 * the driver gets its hook after every averaging round. Updater (optimizer) state is averaged too.
 *
 * <p>The worker listener that enforces masks is set before every round: DL4J serializes listeners into each
 * round's worker closure, so the workers always see the masks of the current step.
 *
 * <p>Reproducible rounds: a round's result depends only on the network and the chunk, not on scheduling. DL4J's
 * own repartitioning shuffles the chunk into worker partitions whose element order follows the shuffle fetch
 * order (local blocks first, so it depends on which executor cached which data), and its averaging adds the
 * workers' vectors in task completion order. Instead, {@link #dealToWorkers} numbers the chunk's minibatches in
 * their (deterministic) RDD order and deals them round-robin to {@code workers} partitions sorted by that number
 * (DL4J is told never to repartition), and {@link PartitionOrderAveragingTrainingMaster} adds the results in
 * partition order. Per-worker training is deterministic given its minibatches (ND4J with one thread per
 * executor), so a round gives bit-identical parameters wherever and in whatever order its tasks run, and so do
 * whole runs and resumed runs on the same data and settings.
 */
public final class Dl4jParameterAveragingTrainer implements DistributedTrainer {
  private static final Logger LOG = LoggerFactory.getLogger(Dl4jParameterAveragingTrainer.class);

  /** Settings of the DL4J training master. */
  public record Settings(int workers, int batchSizePerWorker, int averagingFrequency, int workerPrefetchBatches,
      String repartition, String trainingApproach, String exportDirectory, long seed) {
    public Settings {
      if (workers < 1) {
        throw new IllegalArgumentException("workers must be >= 1, got " + workers);
      }
      if (batchSizePerWorker < 1 || averagingFrequency < 1 || workerPrefetchBatches < 0) {
        throw new IllegalArgumentException("batchSizePerWorker and averagingFrequency must be >= 1 and "
            + "workerPrefetchBatches >= 0, got " + batchSizePerWorker + ", " + averagingFrequency + ", "
            + workerPrefetchBatches);
      }
      Objects.requireNonNull(exportDirectory, "exportDirectory");
    }
  }

  private final JavaSparkContext sc;
  private final Settings settings;
  private final SparkComputationGraph spark;
  private final CollectionAccumulator<String> compressedLayers;
  private final LongAccumulator maskChecksPassed;

  public Dl4jParameterAveragingTrainer(JavaSparkContext sc, ComputationGraph network, Settings settings) {
    this.sc = sc;
    this.settings = settings;
    ParameterAveragingTrainingMaster.Builder builder = new ParameterAveragingTrainingMaster.Builder(settings.workers(),
        settings.batchSizePerWorker())
        .batchSizePerWorker(settings.batchSizePerWorker())
        .averagingFrequency(settings.averagingFrequency())
        .workerPrefetchNumBatches(settings.workerPrefetchBatches())
        .saveUpdater(true)
        // each round's chunk is dealt to the workers by dealToWorkers (deterministic order), never by DL4J
        .repartionData(Repartition.Never)
        .repartitionStrategy(RepartitionStrategy.Balanced)
        // we cache the training data ourselves; DL4J would persist every round's chunk and never unpersist it
        .storageLevel(null)
        .rddTrainingApproach("export".equals(settings.trainingApproach())
            ? RDDTrainingApproach.Export : RDDTrainingApproach.Direct)
        // its default is under the system temp dir (hadoop-<user>/dl4j) and is never cleaned up
        .exportDirectory(settings.exportDirectory())
        .rngSeed(settings.seed())
        .collectTrainingStats(false);
    ParameterAveragingTrainingMaster master = new PartitionOrderAveragingTrainingMaster(builder);
    this.spark = new SparkComputationGraph(sc, network, master);
    this.compressedLayers = sc.sc().collectionAccumulator("sparsetrain: layers on compressed kernels (workers)");
    this.maskChecksPassed = sc.sc().longAccumulator("sparsetrain: worker mask checks passed");
  }

  static Repartition repartition(String s) {
    switch (s) {
      case "never":
        return Repartition.Never;
      case "num-partitions-workers-differs":
        return Repartition.NumPartitionsWorkersDiffers;
      default:
        return Repartition.Always;
    }
  }

  @Override
  public RoundResult fitRound(JavaRDD<DataSet> chunk, WorkerMasks masks) {
    List<TrainingListener> listeners = new ArrayList<>();
    compressedLayers.reset();
    maskChecksPassed.reset();
    if (masks != null && !masks.isEmpty()) {
      listeners.add(new MaskEnforcingWorkerListener(masks, compressedLayers, maskChecksPassed));
    }
    spark.setListeners(listeners);
    spark.fit(dealToWorkers(chunk));
    return new RoundResult(spark.getScore(), new TreeSet<>(compressedLayers.value()), maskChecksPassed.value());
  }

  /**
   * The round's minibatches in {@code workers} partitions, in an order fixed by the chunk alone: numbered in RDD
   * order (partition by partition, as cached), minibatch i goes to worker i mod workers, each worker's partition
   * sorted by number (sorted on the reduce side, so the shuffle's fetch order does not matter). With
   * {@code repartition = never} the chunk is used as it is; with {@code num-partitions-workers-differs} only when
   * it already has {@code workers} partitions.
   */
  public JavaRDD<DataSet> dealToWorkers(JavaRDD<DataSet> chunk) {
    Repartition mode = repartition(settings.repartition());
    int w = settings.workers();
    if (mode == Repartition.Never
        || (mode == Repartition.NumPartitionsWorkersDiffers && chunk.getNumPartitions() == w)) {
      return chunk;
    }
    return chunk.zipWithIndex().mapToPair(t -> new Tuple2<>(t._2(), t._1()))
        .repartitionAndSortWithinPartitions(new RoundRobinPartitioner(w)).values();
  }

  /** Minibatch number i to partition i mod n. */
  static final class RoundRobinPartitioner extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final int n;

    RoundRobinPartitioner(int n) {
      this.n = n;
    }

    @Override
    public int numPartitions() {
      return n;
    }

    @Override
    public int getPartition(Object key) {
      return (int) Math.floorMod((Long) key, (long) n);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof RoundRobinPartitioner && ((RoundRobinPartitioner) o).n == n;
    }

    @Override
    public int hashCode() {
      return n;
    }
  }

  @Override
  public ComputationGraph network() {
    return spark.getNetwork();
  }

  @Override
  public void setNetwork(ComputationGraph network) {
    spark.setNetwork(network);
  }

  @Override
  public Accuracy evaluate(JavaRDD<DataSet> test, int numClasses, int topN, int evalBatchSize) {
    List<String> labels = new ArrayList<>();
    for (int i = 0; i < numClasses; i++) {
      labels.add(Integer.toString(i));
    }
    spark.setListeners(new ArrayList<>());
    Evaluation e = spark.doEvaluation(test, evalBatchSize, new Evaluation(labels, Math.min(topN, numClasses)))[0];
    return new Accuracy(e.accuracy(), e.topNAccuracy(), Math.min(topN, numClasses), e.getNumRowCounter());
  }

  @Override
  public int workers() {
    return settings.workers();
  }

  @Override
  public int examplesPerRound() {
    return settings.workers() * settings.batchSizePerWorker() * settings.averagingFrequency();
  }

  @Override
  public void close() {
    Path p = new Path(settings.exportDirectory());
    try {
      FileSystem fs = p.getFileSystem(sc.hadoopConfiguration());
      if (fs.exists(p)) {
        fs.delete(p, true);
      }
    } catch (IOException e) {
      LOG.warn("could not delete DL4J export directory {}: {}", p, e.getMessage());
    }
  }
}
