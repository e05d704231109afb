package io.sparsetrain.jobs.train.spark;

import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingResult;
import org.deeplearning4j.spark.impl.paramavg.aggregator.ParameterAveragingAggregationTuple;
import org.deeplearning4j.spark.impl.paramavg.aggregator.ParameterAveragingElementAddFunction;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DL4J's {@link ParameterAveragingTrainingMaster} with the workers' results summed in partition order instead of
 * task completion order, so that an averaging round is bit-reproducible for any number of workers.
 *
 * <p>DL4J sums the workers' parameter and updater-state vectors with {@code treeAggregate}, whose last level is
 * folded on the driver as tasks finish. Float addition is commutative, so with two workers the sum does not depend
 * on the order; with three or more it is not associative, and ((a + b) + c) differs from ((a + c) + b) in the last
 * bits depending on which task finished first. Here the results are collected (in partition order, at most one per
 * worker) and added in that order; everything after the sum is DL4J's own code path (divide by the count, set
 * parameters and updater state, score, iteration count).
 *
 * <p>The driver holds all workers' results at once (one parameter and one updater-state vector per worker), as
 * DL4J's default aggregation depth of 2 nearly does anyway.
 */
public class PartitionOrderAveragingTrainingMaster extends ParameterAveragingTrainingMaster {
  private static final long serialVersionUID = 1L;

  public PartitionOrderAveragingTrainingMaster(ParameterAveragingTrainingMaster.Builder builder) {
    super(builder);
  }

  /** Sums the results of {@code results} in partition order. Null when there is none (an empty round). */
  static ParameterAveragingAggregationTuple sumInPartitionOrder(List<ParameterAveragingTrainingResult> results) {
    ParameterAveragingElementAddFunction add = new ParameterAveragingElementAddFunction();
    ParameterAveragingAggregationTuple tuple = null;
    try {
      for (ParameterAveragingTrainingResult r : results) {
        tuple = add.call(tuple, r);
      }
    } catch (Exception e) {
      throw new IllegalStateException("cannot add the workers' parameters: " + e.getMessage(), e);
    }
    return tuple;
  }

  @Override
  protected void processResults(SparkDl4jMultiLayer network, SparkComputationGraph graph,
      JavaRDD<ParameterAveragingTrainingResult> results, int splitNum, int totalSplits) {
    if (collectTrainingStats) {
      stats.logAggregateStartTime();
    }
    ParameterAveragingAggregationTuple tuple = sumInPartitionOrder(results.collect());
    if (collectTrainingStats) {
      stats.logAggregationEndTime();
      stats.logProcessParamsUpdaterStart();
    }
    INDArray params = tuple == null ? null : tuple.getParametersSum();
    if (params != null) {
      int count = tuple.getAggregationsCount();
      params.divi(count);
      INDArray updaterState = tuple.getUpdaterStateSum();
      if (updaterState != null) {
        updaterState.divi(count); // null when no layer has updater state (plain SGD)
      }
      if (network != null) {
        MultiLayerNetwork net = network.getNetwork();
        net.setParameters(params);
        if (updaterState != null) {
          net.getUpdater().setStateViewArray(null, updaterState, false);
        }
        network.setScore(tuple.getScoreSum() / count);
      } else {
        ComputationGraph g = graph.getNetwork();
        g.setParams(params);
        if (updaterState != null) {
          g.getUpdater().setStateViewArray(updaterState);
        }
        graph.setScore(tuple.getScoreSum() / count);
      }
    }
    if (collectTrainingStats) {
      stats.logProcessParamsUpdaterEnd();
      stats.addWorkerStats(tuple == null ? null : tuple.getSparkTrainingStats());
    }
    if (statsStorage != null && tuple != null) {
      if (tuple.getListenerMetaData() != null && !tuple.getListenerMetaData().isEmpty()) {
        statsStorage.putStorageMetaData(tuple.getListenerMetaData());
      }
      if (tuple.getListenerStaticInfo() != null && !tuple.getListenerStaticInfo().isEmpty()) {
        statsStorage.putStaticInfo(tuple.getListenerStaticInfo());
      }
      if (tuple.getListenerUpdates() != null && !tuple.getListenerUpdates().isEmpty()) {
        statsStorage.putUpdate(tuple.getListenerUpdates());
      }
    }
    Nd4j.getExecutioner().commit();
    if (params != null) {
      if (network != null) {
        MultiLayerConfiguration conf = network.getNetwork().getLayerWiseConfigurations();
        conf.setIterationCount(conf.getIterationCount() + averagingFrequency);
      } else {
        ComputationGraphConfiguration conf = graph.getNetwork().getConfiguration();
        conf.setIterationCount(conf.getIterationCount() + averagingFrequency);
      }
    }
  }
}
