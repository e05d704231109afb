package io.sparsetrain.jobs.evaluate;

import io.sparsetrain.nn.MaskedNetwork;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Inference images/s of a model as loaded (frozen N:M layers on the compressed kernels) and of the same model
 * densified (a copy with every sparse layer unfrozen: W*M on the dense path), side by side: per batch size a
 * warm-up of each variant, then {@code reps} repetitions that alternate the variants (so drift from other load
 * on the machine hits both alike); each repetition runs enough forward passes to take about
 * {@code repSeconds} (at least one). The warm-up is at least one second per variant and batch size. Reports
 * min / median / max images/s over the repetitions. Runs on the driver.
 */
final class SpeedBenchmark {
  private SpeedBenchmark() {}

  /** Images/s of one variant at one batch size over the repetitions. */
  public record Stats(int batch, int reps, int callsPerRep, double min, double median, double max) {}

  /** One batch size: as loaded and densified (null when the model has no compressed layer: the same network). */
  public record Point(int batch, Stats loaded, Stats densified, Double speedup) {}

  /**
   * @param densified the densified copy, null when it would be the same network
   * @param sample real input images; rows are repeated up to the batch size
   */
  static List<Point> run(ComputationGraph loaded, ComputationGraph densified, INDArray sample, int[] batches, int reps,
      double repSeconds, Consumer<String> progress, String label) {
    List<Point> out = new ArrayList<>();
    for (int b : batches) {
      INDArray x = batch(sample, b);
      ComputationGraph[] nets = densified == null ? new ComputationGraph[] {loaded}
          : new ComputationGraph[] {loaded, densified};
      int[] calls = new int[nets.length];
      for (int v = 0; v < nets.length; v++) {
        calls[v] = calibrate(nets[v], x, repSeconds);
      }
      double[][] ips = new double[nets.length][reps];
      for (int r = 0; r < reps; r++) {
        for (int v = 0; v < nets.length; v++) {
          long t0 = System.nanoTime();
          for (int c = 0; c < calls[v]; c++) {
            nets[v].outputSingle(false, x);
          }
          ips[v][r] = (double) b * calls[v] / ((System.nanoTime() - t0) / 1e9);
        }
      }
      Stats s0 = stats(b, calls[0], ips[0]);
      Stats s1 = densified == null ? null : stats(b, calls[1], ips[1]);
      Double speedup = s1 == null ? null : s0.median() / s1.median();
      out.add(new Point(b, s0, s1, speedup));
      progress.accept(String.format(Locale.ROOT,
          "speed %s batch %d: as loaded %.1f images/s (median of %d, min %.1f)%s",
          label, b, s0.median(), reps, s0.min(), s1 == null ? " (no compressed layers: densified is the same network)"
              : String.format(Locale.ROOT, ", densified %.1f images/s (min %.1f), ratio %.2fx", s1.median(), s1.min(),
                  speedup)));
    }
    return out;
  }

  /**
   * Warms up (at least 3 calls and max(1 s, repSeconds); JIT and first-call allocations) and returns the calls
   * that take about repSeconds, timed on the second half of the warm-up.
   */
  private static int calibrate(ComputationGraph net, INDArray x, double repSeconds) {
    double warm = Math.max(1.0, repSeconds);
    long t0 = System.nanoTime();
    int calls = 0;
    long half = 0;
    int callsAtHalf = 0;
    while (calls < 3 || (System.nanoTime() - t0) / 1e9 < warm) {
      net.outputSingle(false, x);
      calls++;
      if (half == 0 && (System.nanoTime() - t0) / 1e9 >= warm / 2) {
        half = System.nanoTime();
        callsAtHalf = calls;
      }
    }
    double perCall = calls > callsAtHalf && half > 0 ? (System.nanoTime() - half) / 1e9 / (calls - callsAtHalf)
        : (System.nanoTime() - t0) / 1e9 / calls;
    return Math.max(1, (int) Math.round(repSeconds / perCall));
  }

  private static Stats stats(int b, int calls, double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    double median = s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    return new Stats(b, s.length, calls, s[0], median, s[s.length - 1]);
  }

  /** The first b rows of sample, rows repeated when sample has fewer. */
  static INDArray batch(INDArray sample, int b) {
    long n = sample.size(0);
    if (n >= b) {
      return sample.get(NDArrayIndex.interval(0, b)).dup();
    }
    INDArray[] rows = new INDArray[b];
    for (int i = 0; i < b; i++) {
      rows[i] = sample.get(NDArrayIndex.interval(i % n, i % n + 1));
    }
    return Nd4j.concat(0, rows);
  }

  /** A copy of {@code g} with every sparse layer unfrozen (dense path, W*M), or null if none is compressed. */
  static ComputationGraph densified(ComputationGraph g) {
    if (MaskedNetwork.of(g).compressedLayers().isEmpty()) {
      return null;
    }
    ComputationGraph d = g.clone();
    MaskedNetwork.of(d).unfreeze();
    return d;
  }
}
