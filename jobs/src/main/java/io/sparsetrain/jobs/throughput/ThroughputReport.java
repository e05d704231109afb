package io.sparsetrain.jobs.throughput;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * What the throughput benchmark measured: one {@link Case} per (phase, workers), each with its timed averaging
 * rounds; the table printed side by side with ratios, and the JSON file ({@value #FORMAT_VERSION}).
 * Throughput is training images per second of wall time of an averaging round as the train job times it
 * ({@code DistributedTrainer.fitRound}: broadcast, worker fits, averaging), warm-up rounds excluded.
 */
public final class ThroughputReport {
  public static final int FORMAT_VERSION = 1;

  /**
   * One measured case.
   *
   * @param phase dense | frozen-nm | frozen-combined
   * @param workers workers per averaging round
   * @param imagesPerRound training images per averaging round (workers x batch size x averaging frequency)
   * @param roundSeconds wall time of each measured round, seconds
   * @param globalSparsity fraction of zeros over the prunable weights of the masks the workers enforced
   * @param workerCompressedLayers layers the workers ran on compressed N:M kernels (last measured round)
   * @param workerMaskChecks worker mask checks passed in the measured rounds (one per worker task)
   */
  public record Case(String phase, String label, int workers, long imagesPerRound, double[] roundSeconds,
      double globalSparsity, List<String> workerCompressedLayers, long workerMaskChecks) {

    /** Images/s of each measured round. */
    public double[] imagesPerSecond() {
      double[] r = new double[roundSeconds.length];
      for (int i = 0; i < r.length; i++) {
        r[i] = imagesPerRound / roundSeconds[i];
      }
      return r;
    }

    public double minImagesPerSecond() {
      return Arrays.stream(imagesPerSecond()).min().orElse(Double.NaN);
    }

    public double medianImagesPerSecond() {
      return median(imagesPerSecond());
    }
  }

  private final Map<String, Object> setup;
  private final List<Case> cases;

  /**
   * @param setup what was measured (model, input, batch size, averaging frequency, rounds, master), in print order
   */
  public ThroughputReport(Map<String, Object> setup, List<Case> cases) {
    this.setup = new LinkedHashMap<>(setup);
    this.cases = List.copyOf(cases);
  }

  public List<Case> cases() {
    return cases;
  }

  public Map<String, Object> setup() {
    return setup;
  }

  static double median(double[] values) {
    if (values.length == 0) {
      return Double.NaN;
    }
    double[] s = values.clone();
    Arrays.sort(s);
    int n = s.length;
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  }

  /** The case of a phase at a worker count, or null. */
  public Case find(String phase, int workers) {
    for (Case c : cases) {
      if (c.phase().equals(phase) && c.workers() == workers) {
        return c;
      }
    }
    return null;
  }

  /** Median images/s of {@code c} over the same phase at the fewest workers measured (NaN if that is {@code c}). */
  public double scalingVsFewestWorkers(Case c) {
    Case base = null;
    for (Case o : cases) {
      if (o.phase().equals(c.phase()) && (base == null || o.workers() < base.workers())) {
        base = o;
      }
    }
    return base == null ? Double.NaN : c.medianImagesPerSecond() / base.medianImagesPerSecond();
  }

  /** Median images/s of {@code c} over the dense phase at the same worker count (NaN without a dense case). */
  public double ratioVsDense(Case c) {
    Case dense = find(ThroughputOptions.Phase.DENSE.cliName(), c.workers());
    return dense == null ? Double.NaN : c.medianImagesPerSecond() / dense.medianImagesPerSecond();
  }

  private static String ratio(double r) {
    return Double.isNaN(r) ? "-" : String.format(Locale.ROOT, "%.2fx", r);
  }

  /** The fewest worker count measured. */
  private int fewestWorkers() {
    return cases.stream().mapToInt(Case::workers).min().orElse(1);
  }

  /**
   * The side-by-side table: one row per case with min and median images/s over the measured rounds, the speed-up
   * over the same phase at the fewest workers, and the ratio to the dense phase at the same worker count.
   */
  public String table() {
    StringBuilder sb = new StringBuilder();
    sb.append("training throughput (images/s per averaging round, warm-up excluded)\n");
    setup.forEach((k, v) -> sb.append("  ").append(k).append(": ").append(v).append('\n'));
    String header = String.format(Locale.ROOT, "%-26s %7s %12s %7s %10s %12s %11s %9s %s",
        "phase", "workers", "images/round", "rounds", "min img/s", "median img/s",
        "vs " + fewestWorkers() + " wkr", "vs dense", "sparsity / compressed layers");
    sb.append(header).append('\n');
    sb.append("-".repeat(header.length())).append('\n');
    for (Case c : cases) {
      sb.append(String.format(Locale.ROOT, "%-26s %7d %12d %7d %10.1f %12.1f %11s %9s %.3f / %d%n",
          c.label(), c.workers(), c.imagesPerRound(), c.roundSeconds().length, c.minImagesPerSecond(),
          c.medianImagesPerSecond(), ratio(scalingVsFewestWorkers(c)), ratio(ratioVsDense(c)), c.globalSparsity(),
          c.workerCompressedLayers().size()));
    }
    return sb.toString();
  }

  /** The JSON document: setup, cases with every measured round, and the ratios of the table. */
  public Map<String, Object> toJson() {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("formatVersion", FORMAT_VERSION);
    root.put("setup", setup);
    List<Map<String, Object>> list = new ArrayList<>();
    for (Case c : cases) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("phase", c.phase());
      m.put("label", c.label());
      m.put("workers", c.workers());
      m.put("imagesPerRound", c.imagesPerRound());
      m.put("rounds", c.roundSeconds().length);
      m.put("roundSeconds", c.roundSeconds());
      m.put("imagesPerSecond", c.imagesPerSecond());
      m.put("minImagesPerSecond", c.minImagesPerSecond());
      m.put("medianImagesPerSecond", c.medianImagesPerSecond());
      m.put("speedupVsFewestWorkers", nullIfNaN(scalingVsFewestWorkers(c)));
      m.put("ratioVsDense", nullIfNaN(ratioVsDense(c)));
      m.put("globalSparsity", c.globalSparsity());
      m.put("workerCompressedLayers", c.workerCompressedLayers());
      m.put("workerMaskChecks", c.workerMaskChecks());
      list.add(m);
    }
    root.put("cases", list);
    return root;
  }

  private static Double nullIfNaN(double v) {
    return Double.isNaN(v) ? null : v;
  }

  /**
   * Writes the JSON atomically: under a temporary name beside {@code path}, then renamed (an atomic move on a
   * local file system; on object stores readers only ever see a complete file under the final name).
   */
  public void writeJson(String path, Configuration conf) {
    byte[] bytes;
    try {
      bytes = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(toJson());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serialize the throughput report: " + e.getMessage(), e);
    }
    URI uri = new Path(path).toUri();
    try {
      if (uri.getScheme() == null || "file".equals(uri.getScheme())) {
        java.nio.file.Path dst = java.nio.file.Path.of(uri.getPath()).toAbsolutePath();
        Files.createDirectories(dst.getParent());
        java.nio.file.Path tmp = dst.resolveSibling("." + dst.getFileName() + ".tmp-" + UUID.randomUUID());
        Files.write(tmp, bytes);
        Files.move(tmp, dst, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return;
      }
      Path dst = new Path(path);
      FileSystem fs = dst.getFileSystem(conf);
      Path tmp = new Path(dst.getParent(), "." + dst.getName() + ".tmp-" + UUID.randomUUID());
      try (OutputStream out = fs.create(tmp, false)) {
        out.write(bytes);
      }
      if (fs.exists(dst)) {
        fs.delete(dst, false);
      }
      if (!fs.rename(tmp, dst)) {
        throw new IOException("rename " + tmp + " -> " + dst + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the throughput report " + path + ": " + e.getMessage(), e);
    }
  }
}
