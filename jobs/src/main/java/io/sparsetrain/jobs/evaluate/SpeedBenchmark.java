package io.sparsetrain.jobs.evaluate;

import io.sparsetrain.nn.MaskedNetwork;
import io.sparsetrain.nn.infer.InferencePlan;
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
 * densified (a copy with every sparse layer unfrozen: W*M on the dense path), and of both compiled into
 * {@link InferencePlan}s (batch norm folded, ReLU fused, outside DL4J's graph) when the model allows it, side by
 * side: per batch size
 * {@code reps} repetitions that alternate the variants (so drift from other load on the machine hits both
 * alike); each repetition runs enough forward passes to take about {@code repSeconds} (at least one). Every batch
 * size and variant is warmed up (largest batch first) before any is measured, each until its time per call is
 * stable (see {@link #calibrate}). Reports min / median / max images/s over the repetitions. Runs on the driver.
 */
final class SpeedBenchmark {
  private SpeedBenchmark() {}

  /** Images/s of one variant at one batch size over the repetitions. */
  public record Stats(int batch, int reps, int callsPerRep, double warmupSeconds, double min, double median,
      double max) {}

  /**
   * One batch size: as loaded and densified (null when the model has no compressed layer: the same network), and
   * the same two as inference plans (null when not measured); speed-ups are loaded over densified (medians).
   */
  public record Point(int batch, Stats loaded, Stats densified, Double speedup, Stats planLoaded,
      Stats planDensified, Double planSpeedup) {}

  /** A variant's forward pass: a graph's or a plan's (null: not measured). */
  private static Consumer<INDArray> graph(ComputationGraph g) {
    return g == null ? null : x -> g.outputSingle(false, x);
  }

  private static Consumer<INDArray> plan(InferencePlan p) {
    return p == null ? null : p::output;
  }

  /**
   * @param densified the densified copy, null when it would be the same network
   * @param sample real input images; rows are repeated up to the batch size
   */
  static List<Point> run(ComputationGraph loaded, ComputationGraph densified, INDArray sample, int[] batches, int reps,
      double repSeconds, double minWarmup, Consumer<String> progress, String label) {
    return run(loaded, densified, null, null, sample, batches, reps, repSeconds, minWarmup, progress, label);
  }

  /**
   * As {@link #run(ComputationGraph, ComputationGraph, INDArray, int[], int, double, double, Consumer, String)}, with
   * the plans of the loaded and the densified model as two more variants (either may be null: not measured).
   */
  static List<Point> run(ComputationGraph loaded, ComputationGraph densified, InferencePlan planLoaded,
      InferencePlan planDensified, INDArray sample, int[] batches, int reps, double repSeconds, double minWarmup,
      Consumer<String> progress, String label) {
    List<Point> out = new ArrayList<>();
    // fixed slots: 0 loaded, 1 densified, 2 plan of loaded, 3 plan of densified; null = not measured
    List<Consumer<INDArray>> nets = Arrays.asList(graph(loaded), graph(densified), plan(planLoaded), plan(planDensified));
    // warm up every (batch, variant) first, largest batch first: it gets the kernels compiled soonest, and no
    // batch size is measured while the JIT is still working on another
    Integer[] order = Arrays.stream(batches).boxed().sorted(java.util.Comparator.reverseOrder())
        .toArray(Integer[]::new);
    java.util.Map<Integer, double[][]> warmups = new java.util.HashMap<>();
    for (int b : order) {
      INDArray x = batch(sample, b);
      double[][] cw = new double[nets.size()][];
      for (int v = 0; v < nets.size(); v++) {
        cw[v] = nets.get(v) == null ? null : calibrate(nets.get(v), x, repSeconds, minWarmup);
      }
      warmups.put(b, cw);
    }
    for (int b : batches) {
      INDArray x = batch(sample, b);
      int[] calls = new int[nets.size()];
      double[] warm = new double[nets.size()];
      for (int v = 0; v < nets.size(); v++) {
        double[] c = warmups.get(b)[v];
        if (c != null) {
          calls[v] = (int) c[0];
          warm[v] = c[1];
        }
      }
      double[][] ips = new double[nets.size()][reps];
      for (int r = 0; r < reps; r++) {
        for (int v = 0; v < nets.size(); v++) {
          if (nets.get(v) == null) {
            continue;
          }
          long t0 = System.nanoTime();
          for (int c = 0; c < calls[v]; c++) {
            nets.get(v).accept(x);
          }
          ips[v][r] = (double) b * calls[v] / ((System.nanoTime() - t0) / 1e9);
        }
      }
      Stats[] st = new Stats[nets.size()];
      for (int v = 0; v < nets.size(); v++) {
        st[v] = nets.get(v) == null ? null : stats(b, calls[v], warm[v], ips[v]);
      }
      Double speedup = st[1] == null ? null : st[0].median() / st[1].median();
      Double planSpeedup = st[2] == null || st[3] == null ? null : st[2].median() / st[3].median();
      out.add(new Point(b, st[0], st[1], speedup, st[2], st[3], planSpeedup));
      progress.accept(String.format(Locale.ROOT,
          "speed %s batch %d: as loaded %.1f images/s (median of %d, min %.1f, warm-up %.1f s)%s%s",
          label, b, st[0].median(), reps, st[0].min(), st[0].warmupSeconds(),
          st[1] == null ? " (no compressed layers: densified is the same network)"
              : String.format(Locale.ROOT, ", densified %.1f images/s (min %.1f, warm-up %.1f s), ratio %.2fx",
                  st[1].median(), st[1].min(), st[1].warmupSeconds(), speedup),
          st[2] == null ? "" : String.format(Locale.ROOT, "; inference plan: as loaded %.1f images/s%s", st[2].median(),
              st[3] == null ? "" : String.format(Locale.ROOT, ", densified %.1f, ratio %.2fx", st[3].median(),
                  planSpeedup))));
    }
    return out;
  }

  /** Longest warm-up per variant and batch size, seconds (or twice the minimum, if that is longer). */
  static final double MAX_WARMUP_SECONDS = 60;

  /**
   * Warms up for at least {@code minWarmup} seconds and then until the time per call is stable: windows of at
   * least 3 calls and max(0.25 s, repSeconds / 2), until two consecutive windows agree within 10%, or
   * max({@value #MAX_WARMUP_SECONDS}, 2 * minWarmup) s. The Vector API kernels are only fast once C2 has compiled
   * them, which on a loaded machine can take tens of seconds.
   *
   * @return {calls per repetition of about repSeconds, warm-up seconds}
   */
  private static double[] calibrate(Consumer<INDArray> net, INDArray x, double repSeconds, double minWarmup) {
    double max = Math.max(MAX_WARMUP_SECONDS, 2 * minWarmup);
    long t0 = System.nanoTime();
    double window = Math.max(0.25, repSeconds / 2);
    double prev = -1;
    double perCall;
    while (true) {
      long w0 = System.nanoTime();
      int calls = 0;
      do {
        net.accept(x);
        calls++;
      } while (calls < 3 || (System.nanoTime() - w0) / 1e9 < window);
      perCall = (System.nanoTime() - w0) / 1e9 / calls;
      double elapsed = (System.nanoTime() - t0) / 1e9;
      if ((prev > 0 && Math.abs(perCall - prev) <= 0.1 * prev && elapsed >= minWarmup) || elapsed >= max) {
        return new double[] {Math.max(1, (int) Math.round(repSeconds / perCall)), elapsed};
      }
      prev = perCall;
    }
  }

  private static Stats stats(int b, int calls, double warmup, double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    double median = s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    return new Stats(b, s.length, calls, warmup, s[0], median, s[s.length - 1]);
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
