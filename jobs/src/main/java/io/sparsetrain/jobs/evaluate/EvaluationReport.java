package io.sparsetrain.jobs.evaluate;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sparsetrain.jobs.evaluate.EvaluationResult.ModelResult;
import java.io.IOException;
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
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The evaluation output directory: {@value #JSON} ({@link EvaluationResult}), {@value #HTML} with PNG plots
 * (accuracy vs global sparsity, FGSM curves, per-layer sparsity, per-class accuracy, certificate per layer, speed)
 * and a table of the final numbers. Published atomically: everything is written under a hidden temporary sibling
 * of the target, which is then renamed to the target. An existing target is replaced only when it is an earlier
 * evaluation (holds {@value #JSON}); anything else is refused.
 */
final class EvaluationReport {
  static final String JSON = "evaluation.json";
  static final String HTML = "report.html";
  static final String ACCURACY_PNG = "accuracy-vs-sparsity.png";
  static final String FGSM_PNG = "fgsm.png";
  static final String LAYERS_PNG = "layer-sparsity.png";
  static final String CLASSES_PNG = "per-class-accuracy.png";
  static final String CERT_PNG = "certificate.png";
  static final String SPEED_PNG = "speed.png";
  static final List<String> PNGS = List.of(ACCURACY_PNG, FGSM_PNG, LAYERS_PNG, CLASSES_PNG, CERT_PNG, SPEED_PNG);

  private static final int W = 900;
  private static final int H = 500;

  private EvaluationReport() {}

  /** Fails early when {@code output} exists and is not an earlier evaluation, or its parent cannot be written. */
  static void checkOutput(String output, Configuration conf) {
    Path target = new Path(output);
    try {
      FileSystem fs = target.getFileSystem(conf);
      if (fs.exists(target) && !(fs.isDirectory(target) && fs.exists(new Path(target, JSON)))) {
        throw new EvaluateException("--output " + output + " exists and is not an earlier evaluation (no " + JSON
            + "); choose another directory or remove it");
      }
      Path parent = target.getParent();
      fs.mkdirs(parent);
      Path probe = new Path(parent, "." + target.getName() + "-probe-" + UUID.randomUUID());
      fs.create(probe, true).close();
      fs.delete(probe, false);
    } catch (IOException e) {
      throw new EvaluateException("--output " + output + " is not writable: " + e.getMessage(), e);
    }
  }

  /** Writes everything under a temporary sibling and renames it to {@code output}. */
  static void publish(String output, Configuration conf, EvaluationResult r) {
    Path target = new Path(output);
    try {
      FileSystem fs = target.getFileSystem(conf);
      if (fs instanceof LocalFileSystem local) {
        fs = local.getRaw(); // no .crc side files in a report directory
      }
      Path parent = target.getParent();
      String id = UUID.randomUUID().toString();
      Path tmp = new Path(parent, "." + target.getName() + "-tmp-" + id);
      fs.mkdirs(tmp);
      try {
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        write(fs, new Path(tmp, JSON), om.writeValueAsBytes(r));
        Map<String, Chart<?, ?>> charts = charts(r);
        for (Map.Entry<String, Chart<?, ?>> c : charts.entrySet()) {
          write(fs, new Path(tmp, c.getKey()), BitmapEncoder.getBitmapBytes(c.getValue(),
              BitmapEncoder.BitmapFormat.PNG));
        }
        write(fs, new Path(tmp, HTML), html(r).getBytes(StandardCharsets.UTF_8));
        Path old = null;
        if (fs.exists(target)) {
          checkOutput(output, conf);
          old = new Path(parent, "." + target.getName() + "-old-" + id);
          if (!fs.rename(target, old)) {
            throw new IOException("rename " + target + " -> " + old + " failed");
          }
        }
        if (!fs.rename(tmp, target)) {
          throw new IOException("rename " + tmp + " -> " + target + " failed");
        }
        if (old != null) {
          fs.delete(old, true);
        }
      } finally {
        if (fs.exists(tmp)) {
          fs.delete(tmp, true);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the evaluation to " + output + ": " + e.getMessage(), e);
    }
  }

  private static void write(FileSystem fs, Path p, byte[] bytes) throws IOException {
    try (OutputStream out = fs.create(p, true)) {
      out.write(bytes);
    }
  }

  static Map<String, Chart<?, ?>> charts(EvaluationResult r) {
    Map<String, Chart<?, ?>> m = new LinkedHashMap<>();
    m.put(ACCURACY_PNG, accuracyChart(r));
    m.put(FGSM_PNG, fgsmChart(r));
    m.put(LAYERS_PNG, layerChart(r));
    m.put(CLASSES_PNG, classChart(r));
    m.put(CERT_PNG, certificateChart(r));
    m.put(SPEED_PNG, speedChart(r));
    return m;
  }

  private static void style(Chart<?, ?> c) {
    c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
    c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
  }

  static XYChart accuracyChart(EvaluationResult r) {
    XYChart c = new XYChartBuilder().width(W).height(H).title("Top-1 accuracy vs global sparsity")
        .xAxisTitle("global sparsity (fraction of prunable weights that are zero)").yAxisTitle("top-1 accuracy")
        .build();
    style(c);
    c.getStyler().setDefaultSeriesRenderStyle(org.knowm.xchart.XYSeries.XYSeriesRenderStyle.Scatter);
    c.getStyler().setMarkerSize(10);
    c.getStyler().setXAxisMin(0.0).setXAxisMax(1.0).setYAxisMin(0.0).setYAxisMax(1.0);
    for (ModelResult m : r.models) {
      c.addSeries(String.format(Locale.ROOT, "%s (%.3f)", m.label, m.top1), new double[] {m.globalSparsity},
          new double[] {m.top1});
    }
    return c;
  }

  static XYChart fgsmChart(EvaluationResult r) {
    XYChart c = new XYChartBuilder().width(W).height(H).title("FGSM accuracy vs epsilon")
        .xAxisTitle("epsilon (fraction of the input range)").yAxisTitle("top-1 accuracy on x_adv").build();
    style(c);
    c.getStyler().setYAxisMin(0.0).setYAxisMax(1.0);
    for (ModelResult m : r.models) {
      if (m.fgsm.isEmpty()) {
        continue;
      }
      double[] x = m.fgsm.stream().mapToDouble(p -> p.eps).toArray();
      double[] y = m.fgsm.stream().mapToDouble(p -> p.accuracy).toArray();
      c.addSeries(m.label, x, y).setMarker(SeriesMarkers.CIRCLE);
    }
    if (c.getSeriesMap().isEmpty()) {
      c.addSeries("(no epsilon)", new double[] {0}, new double[] {0});
    }
    return c;
  }

  private static CategoryChart bars(String title, String x, String y) {
    CategoryChart c = new CategoryChartBuilder().width(W).height(H).title(title).xAxisTitle(x).yAxisTitle(y).build();
    style(c);
    c.getStyler().setXAxisLabelRotation(45);
    return c;
  }

  /** One series per model over the union of categories (0 where a model lacks one). */
  private static void addUnion(CategoryChart c, List<ModelResult> models,
      java.util.function.Function<ModelResult, Map<String, Double>> values) {
    Set<String> cats = new LinkedHashSet<>();
    for (ModelResult m : models) {
      cats.addAll(values.apply(m).keySet());
    }
    if (cats.isEmpty()) {
      c.addSeries("(none)", List.of("(none)"), List.of(0.0));
      return;
    }
    for (ModelResult m : models) {
      Map<String, Double> v = values.apply(m);
      List<Double> ys = new ArrayList<>();
      for (String k : cats) {
        ys.add(v.getOrDefault(k, 0.0));
      }
      c.addSeries(m.label, new ArrayList<>(cats), ys);
    }
  }

  static CategoryChart layerChart(EvaluationResult r) {
    CategoryChart c = bars("Per-layer sparsity", "layer", "fraction of zero weights");
    c.getStyler().setYAxisMin(0.0).setYAxisMax(1.0);
    addUnion(c, r.models, m -> m.layerSparsity);
    return c;
  }

  static CategoryChart classChart(EvaluationResult r) {
    CategoryChart c = bars("Per-class top-1 accuracy", "class", "accuracy");
    c.getStyler().setYAxisMin(0.0).setYAxisMax(1.0);
    addUnion(c, r.models, m -> {
      Map<String, Double> v = new LinkedHashMap<>();
      m.perClass.forEach(k -> v.put(k.name, k.accuracy));
      return v;
    });
    return c;
  }

  static CategoryChart certificateChart(EvaluationResult r) {
    CategoryChart c = bars("Stability certificate: fraction of examples certified", "masked layer", "fraction");
    c.getStyler().setYAxisMin(0.0).setYAxisMax(1.0);
    addUnion(c, r.models, m -> {
      Map<String, Double> v = new LinkedHashMap<>();
      m.certificate.layers.forEach(l -> v.put(l.layer, l.fraction));
      if (m.certificate.unavailable == null) {
        v.put("all layers", m.certificate.overallFraction);
      }
      return v;
    });
    return c;
  }

  static CategoryChart speedChart(EvaluationResult r) {
    CategoryChart c = bars("Inference speed (median images/s)", "model", "images/s");
    Set<Integer> batches = new LinkedHashSet<>();
    r.models.forEach(m -> m.speed.points.forEach(p -> batches.add(p.batch())));
    List<String> labels = r.models.stream().map(m -> m.label).toList();
    for (int b : batches) {
      for (boolean dense : new boolean[] {false, true}) {
        List<Double> ys = new ArrayList<>();
        for (ModelResult m : r.models) {
          double v = 0;
          for (SpeedBenchmark.Point p : m.speed.points) {
            if (p.batch() == b) {
              SpeedBenchmark.Stats s = dense ? (p.densified() != null ? p.densified() : p.loaded()) : p.loaded();
              v = s.median();
            }
          }
          ys.add(v);
        }
        c.addSeries((dense ? "densified" : "as loaded") + ", batch " + b, labels, ys);
      }
      List<Double> plan = new ArrayList<>();
      for (ModelResult m : r.models) {
        double v = 0;
        for (SpeedBenchmark.Point p : m.speed.points) {
          if (p.batch() == b && p.planLoaded() != null) {
            v = p.planLoaded().median();
          }
        }
        plan.add(v);
      }
      if (plan.stream().anyMatch(v -> v > 0)) {
        c.addSeries("inference plan, batch " + b, labels, plan);
      }
    }
    if (batches.isEmpty()) {
      c.addSeries("(not measured)", List.of("(none)"), List.of(0.0));
    }
    return c;
  }

  private static String esc(String s) {
    return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  private static String f(double v) {
    return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.4f", v);
  }

  static String html(EvaluationResult r) {
    StringBuilder sb = new StringBuilder();
    sb.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>sparsetrain evaluation</title>\n"
        + "<style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;"
        + "margin-bottom:1em}td,th{border:1px solid #999;padding:3px 8px;text-align:right}th{background:#eee}"
        + "td.l{text-align:left}</style></head><body>\n<h1>Evaluation</h1>\n");
    sb.append("<p>Data <code>").append(esc(r.data.path)).append("</code>, split <b>").append(esc(r.data.split))
        .append("</b>: ").append(r.data.examples).append(" of ").append(r.data.splitRows)
        .append(" examples per model, normalization ").append(esc(r.data.normalization))
        .append(String.format(Locale.ROOT, " (input range [%g, %g])", r.data.inputLow, r.data.inputHigh))
        .append(".<br>Computed ").append("distributed".equals(r.execution.mode)
            ? "on the Spark executors, one task per shard (" + r.execution.shards + " shards, master "
                + esc(r.execution.sparkMaster) + ")" : "locally on the driver")
        .append(": ").append(esc(r.execution.reason)).append(". Created ").append(esc(r.createdAt)).append(".</p>\n");
    sb.append("<h2>Final numbers</h2>\n<table>\n<tr><th>model</th><th>source</th><th>examples</th><th>top-1</th>"
        + "<th>top-5</th>");
    for (double e : r.fgsmEps) {
      sb.append("<th>FGSM ").append(String.format(Locale.ROOT, "%.2f", e)).append("</th>");
    }
    sb.append("<th>global sparsity</th><th>certified (all layers)</th><th>compressed layers</th>"
        + "<th>images/s as loaded (b=1 / b=32)</th><th>densified (b=1 / b=32)</th></tr>\n");
    for (ModelResult m : r.models) {
      sb.append("<tr><td class=l>").append(esc(m.label)).append("</td><td class=l>").append(esc(m.source))
          .append("</td><td>").append(m.examples).append("</td><td>").append(f(m.top1)).append("</td><td>")
          .append(f(m.top5)).append("</td>");
      for (EvaluationResult.FgsmPoint p : m.fgsm) {
        sb.append("<td>").append(f(p.accuracy)).append("</td>");
      }
      sb.append("<td>").append(f(m.globalSparsity)).append("</td><td>")
          .append(m.certificate.unavailable == null ? f(m.certificate.overallFraction) : "n/a").append("</td><td>")
          .append(m.compressedLayers.size()).append("</td><td>").append(speeds(m, false)).append("</td><td>")
          .append(speeds(m, true)).append("</td></tr>\n");
    }
    sb.append("</table>\n");
    String[][] imgs = {{ACCURACY_PNG, "Accuracy vs global sparsity"}, {FGSM_PNG, "FGSM robustness"},
        {LAYERS_PNG, "Per-layer sparsity"}, {CLASSES_PNG, "Per-class accuracy"},
        {CERT_PNG, "Stability certificate per masked layer"}, {SPEED_PNG, "Inference speed"}};
    for (String[] img : imgs) {
      sb.append("<h2>").append(img[1]).append("</h2>\n<img src=\"").append(img[0]).append("\" alt=\"")
          .append(img[1]).append("\">\n");
      if (img[0].equals(FGSM_PNG)) {
        sb.append("<p>x_adv = clip(x + eps * (hi - lo) * sign(d loss / d x), lo, hi): one FGSM step with the "
            + "gradient of each model's own loss on the true label, by DL4J backprop of the model as evaluated "
            + "(batch normalization in inference form, no dropout; compressed N:M layers backprop through their "
            + "compressed kernels).</p>\n");
      }
      if (img[0].equals(CERT_PNG)) {
        certificateSection(sb, r);
      }
      if (img[0].equals(SPEED_PNG)) {
        speedSection(sb, r);
      }
    }
    sb.append("</body></html>\n");
    return sb.toString();
  }

  private static String speeds(ModelResult m, boolean dense) {
    List<String> parts = new ArrayList<>();
    for (SpeedBenchmark.Point p : m.speed.points) {
      SpeedBenchmark.Stats s = dense ? p.densified() : p.loaded();
      parts.add(s == null ? "same" : String.format(Locale.ROOT, "%.1f", s.median()));
    }
    return parts.isEmpty() ? "-" : String.join(" / ", parts);
  }

  private static void certificateSection(StringBuilder sb, EvaluationResult r) {
    if (!r.models.isEmpty()) {
      sb.append("<p>").append(esc(r.models.get(0).certificate.assumptions)).append("</p>\n");
    }
    for (ModelResult m : r.models) {
      EvaluationResult.CertificateResult c = m.certificate;
      sb.append("<h3>").append(esc(m.label)).append("</h3>\n<p>Perturbation: ").append(esc(c.perturbation))
          .append(" (mode ").append(esc(c.mode)).append(").");
      if (c.unavailable != null) {
        sb.append(" <b>Not computed:</b> ").append(esc(c.unavailable)).append("</p>\n");
        continue;
      }
      sb.append(String.format(Locale.ROOT, " All layers at once: %d of %d certified (%.4f).</p>%n",
          c.overallCertified, m.examples, c.overallFraction));
      sb.append("<table><tr><th>layer</th><th>||D|| bound</th><th>suffix Lipschitz L</th><th>certified</th>"
          + "<th>fraction</th></tr>\n");
      for (EvaluationResult.LayerCertificate l : c.layers) {
        sb.append(String.format(Locale.ROOT, "<tr><td class=l>%s</td><td>%.4g</td><td>%.4g</td><td>%d</td>"
            + "<td>%.4f</td></tr>%n", esc(l.layer), l.perturbationNorm, l.suffixLipschitz, l.certified, l.fraction));
      }
      sb.append("</table>\n");
      if (c.verification != null) {
        sb.append("<p>Empirical check on the first ").append(c.verification.examples)
            .append(" examples (the perturbation applied, predictions compared): ")
            .append(c.verification.violations == 0 ? "no certified example changed its prediction."
                : "<b>" + c.verification.violations + " certified examples changed their prediction (a bug)</b>.")
            .append("</p>\n<table><tr><th>perturbation</th><th>certified</th><th>prediction changed</th>"
                + "<th>certified and changed</th></tr>\n");
        for (EvaluationResult.VerifiedLayer v : c.verification.layers) {
          sb.append("<tr><td class=l>").append(esc(v.layer)).append("</td><td>").append(v.certified)
              .append("</td><td>").append(v.changed).append("</td><td>").append(v.certifiedChanged)
              .append("</td></tr>\n");
        }
        sb.append("</table>\n");
      }
    }
  }

  private static void speedSection(StringBuilder sb, EvaluationResult r) {
    sb.append("<p>Forward passes on the driver, in this JVM, on real test images. Per batch size: a warm-up of "
        + "each variant for at least --speed-warmup-seconds and then until its time per call is stable (two windows "
        + "within 10%, at most " + (int) SpeedBenchmark.MAX_WARMUP_SECONDS + " s; the Vector API kernels are slow "
        + "until the JIT has compiled them, which takes long on a loaded machine), then repetitions that alternate the model as loaded (frozen N:M layers on the compressed kernels) and the "
        + "same model densified (every sparse layer unfrozen: W*M on the dense path), and both compiled into inference "
        + "plans (batch norm folded into the convolutions, ReLU fused, run outside DL4J's graph; checked against the "
        + "graph on the same images first). min / median / max images/s "
        + "over the repetitions.</p>\n<table><tr><th>model</th><th>batch</th><th>as loaded min / median / max</th>"
        + "<th>densified min / median / max</th><th>ratio (median)</th><th>top-1 agreement</th>"
        + "<th>plan, as loaded</th><th>plan, densified</th><th>plan ratio</th><th>plan vs graph</th></tr>\n");
    for (ModelResult m : r.models) {
      for (SpeedBenchmark.Point p : m.speed.points) {
        sb.append("<tr><td class=l>").append(esc(m.label)).append("</td><td>").append(p.batch()).append("</td><td>")
            .append(stats(p.loaded())).append("</td><td>").append(p.densified() == null ? "same network"
                : stats(p.densified())).append("</td><td>")
            .append(p.speedup() == null ? "-" : String.format(Locale.ROOT, "%.2fx", p.speedup())).append("</td><td>")
            .append(m.speed.agreement == null ? "-" : String.format(Locale.ROOT, "%.4f of %d", m.speed.agreement,
                m.speed.agreementExamples)).append("</td><td>")
            .append(p.planLoaded() == null ? "-" : stats(p.planLoaded())).append("</td><td>")
            .append(p.planDensified() == null ? (p.planLoaded() == null ? "-" : "same network") : stats(p.planDensified()))
            .append("</td><td>")
            .append(p.planSpeedup() == null ? "-" : String.format(Locale.ROOT, "%.2fx", p.planSpeedup())).append("</td><td>")
            .append(m.speed.planAgreement == null ? "-" : String.format(Locale.ROOT, "top-1 %.4f, max |dp| %.2g",
                m.speed.planAgreement, m.speed.planMaxProbabilityDifference)).append("</td></tr>\n");
      }
      if (m.speed.note != null) {
        sb.append("<tr><td class=l>").append(esc(m.label)).append("</td><td colspan=9 class=l>")
            .append(esc(m.speed.note)).append("</td></tr>\n");
      }
      if (m.speed.planNote != null) {
        sb.append("<tr><td class=l>").append(esc(m.label)).append("</td><td colspan=9 class=l>")
            .append(esc(m.speed.planNote)).append("</td></tr>\n");
      }
    }
    sb.append("</table>\n");
  }

  private static String stats(SpeedBenchmark.Stats s) {
    return String.format(Locale.ROOT, "%.1f / %.1f / %.1f (warm-up %.1f s)", s.min(), s.median(), s.max(),
        s.warmupSeconds());
  }
}
