package io.sparsetrain.jobs.train.spark;

import org.apache.spark.api.java.JavaRDD;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Data-parallel training as the train job needs it, and nothing more: one call = one averaging round, after
 * which the driver holds the averaged network and may change its parameters (masks) before the next round.
 * Implementations: {@link Dl4jParameterAveragingTrainer} (DL4J Spark, deprecated upstream, DL4J issue 9168);
 * the pruning code only sees this interface.
 */
public interface DistributedTrainer extends AutoCloseable {

  /**
   * One averaging round: the current network (and masks) go to the workers, each fits its share of
   * {@code chunk} (about {@link #examplesPerRound()} examples in minibatches), and the averaged parameters and
   * optimizer state come back into {@link #network()}.
   *
   * @param masks what workers must enforce (checked against the driver's checksums), or null for none
   * @return the averaged training loss of the round and what the workers reported
   */
  RoundResult fitRound(JavaRDD<DataSet> chunk, WorkerMasks masks);

  /** The averaged network on the driver. */
  ComputationGraph network();

  /** Replaces the driver's network (e.g. after a resume); the next round broadcasts it. */
  void setNetwork(ComputationGraph network);

  /** Flat parameter vector of the driver's network (a view). */
  default org.nd4j.linalg.api.ndarray.INDArray params() {
    return network().params();
  }

  /** Top-1 and top-N accuracy of the driver's network on {@code test}, computed on the executors. */
  Accuracy evaluate(JavaRDD<DataSet> test, int numClasses, int topN, int evalBatchSize);

  /** Workers taking part in a round. */
  int workers();

  /** Examples per averaging round: workers x batch size per worker x averaging frequency. */
  int examplesPerRound();

  /** Releases cluster-side resources (export directories, cached data). */
  @Override
  void close();

  /**
   * What one averaging round reports.
   *
   * @param loss the averaged training loss
   * @param workerCompressedLayers layers that computed on compressed N:M kernels on at least one worker (sparse
   *     layers with frozen N:M masks; empty when no mask is frozen or the layers are stock)
   * @param workerMaskChecks worker copies of the network whose masks matched the driver's checksums in this round
   *     (one per worker task that trained; 0 when no masks were given). A mismatch fails the round instead.
   */
  record RoundResult(double loss, java.util.SortedSet<String> workerCompressedLayers, long workerMaskChecks) {
    public RoundResult(double loss, java.util.SortedSet<String> workerCompressedLayers) {
      this(loss, workerCompressedLayers, 0);
    }
  }

  /** Accuracy fractions in [0, 1] and the number of evaluated examples. */
  record Accuracy(double top1, double topN, int topNValue, long examples) {}
}
