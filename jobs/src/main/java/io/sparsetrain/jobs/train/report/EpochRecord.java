package io.sparsetrain.jobs.train.report;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The numbers of one finished epoch, as written to metrics.json and the checkpoints (Jackson bean).
 * Sparsities are fractions of zeros (0..1), accuracies fractions (0..1), throughput in training images per second
 * of wall time spent in averaging rounds, times in seconds.
 */
public final class EpochRecord {
  /** 0-based epoch. */
  public int epoch;
  /** Global averaging rounds done at the end of the epoch. */
  public long step;
  /** dense | pruning | frozen: the phase the epoch ended in. */
  public String phase;
  public double trainLoss;
  public double testTop1;
  public double testTop5;
  public double scheduledSparsity;
  public double achievedSparsity;
  public double imagesPerSecond;
  public long images;
  public double seconds;
  public double learningRate;
  /** Layers that ran on compressed N:M kernels on the workers in the epoch's last averaging round. */
  public java.util.List<String> workerCompressedLayers = new java.util.ArrayList<>();
  /**
   * Worker copies of the network whose masks matched the driver's checksums in the epoch's averaging rounds run by
   * this process (one per worker task; a mismatch fails the round). 0 when no masks were shipped.
   */
  public long workerMaskChecks;
  /** Fraction of zero weights per candidate layer at the end of the epoch. */
  public Map<String, Double> layerSparsity = new LinkedHashMap<>();
}
