package io.sparsetrain.jobs.train.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
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
 * The end-of-run outputs in {@code output.dir}: {@value #METRICS} (configuration, final numbers, per-epoch
 * records) and {@value #HTML} with PNG plots: scheduled vs achieved global sparsity per epoch, per-layer sparsity
 * bars, train loss and test top-1/top-5 per epoch, training images/s in the dense and frozen-sparse phases, and a
 * table of the final numbers. Written through Hadoop, so s3a:// works.
 */
public final class TrainReport {
  public static final String METRICS = "metrics.json";
  public static final String HTML = "report.html";
  public static final String SPARSITY_PNG = "sparsity.png";
  public static final String LAYERS_PNG = "layer-sparsity.png";
  public static final String LOSS_PNG = "loss-accuracy.png";
  public static final String THROUGHPUT_PNG = "throughput.png";

  private static final int W = 800;
  private static final int H = 450;

  private TrainReport() {}

  /** Final numbers of a run (the last epoch's, plus phase throughput means). */
  public static Map<String, Object> finalNumbers(List<EpochRecord> epochs, double elapsedSeconds) {
    Map<String, Object> f = new LinkedHashMap<>();
    if (epochs.isEmpty()) {
      return f;
    }
    EpochRecord last = epochs.get(epochs.size() - 1);
    f.put("epochs", epochs.size());
    f.put("steps", last.step);
    f.put("trainLoss", last.trainLoss);
    f.put("testTop1", last.testTop1);
    f.put("testTop5", last.testTop5);
    f.put("globalSparsity", last.achievedSparsity);
    f.put("targetSparsity", last.scheduledSparsity);
    f.put("imagesPerSecondDense", meanThroughput(epochs, "dense"));
    f.put("imagesPerSecondPruning", meanThroughput(epochs, "pruning"));
    f.put("imagesPerSecondFrozenSparse", meanThroughput(epochs, "frozen"));
    f.put("elapsedSeconds", elapsedSeconds);
    return f;
  }

  static double meanThroughput(List<EpochRecord> epochs, String phase) {
    long images = 0;
    double seconds = 0;
    for (EpochRecord e : epochs) {
      if (phase.equals(e.phase) && e.imagesPerSecond > 0) {
        images += e.images;
        seconds += e.images / e.imagesPerSecond;
      }
    }
    return seconds > 0 ? images / seconds : Double.NaN;
  }

  /** Writes metrics.json, the PNGs and report.html into {@code outputDir}. */
  public static void write(String outputDir, Configuration conf, String title, Map<String, Object> config,
      List<EpochRecord> epochs, double elapsedSeconds) {
    try {
      Path dir = new Path(outputDir);
      FileSystem fs = dir.getFileSystem(conf);
      fs.mkdirs(dir);
      Map<String, Object> metrics = new LinkedHashMap<>();
      metrics.put("formatVersion", 1);
      metrics.put("name", title);
      metrics.put("final", finalNumbers(epochs, elapsedSeconds));
      metrics.put("config", config);
      metrics.put("epochs", epochs);
      ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
      write(fs, new Path(dir, METRICS), om.writeValueAsBytes(metrics));
      write(fs, new Path(dir, SPARSITY_PNG), png(sparsityChart(epochs)));
      write(fs, new Path(dir, LAYERS_PNG), png(layerChart(epochs)));
      write(fs, new Path(dir, LOSS_PNG), png(lossChart(epochs)));
      write(fs, new Path(dir, THROUGHPUT_PNG), png(throughputChart(epochs)));
      write(fs, new Path(dir, HTML), html(title, finalNumbers(epochs, elapsedSeconds), epochs)
          .getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the report to " + outputDir + ": " + e.getMessage(), e);
    }
  }

  private static double[] xs(List<EpochRecord> epochs) {
    double[] x = new double[epochs.size()];
    for (int i = 0; i < x.length; i++) {
      x[i] = epochs.get(i).epoch + 1; // 1-based epochs in plots
    }
    return x;
  }

  private static double[] ys(List<EpochRecord> epochs, java.util.function.ToDoubleFunction<EpochRecord> f) {
    double[] y = new double[epochs.size()];
    for (int i = 0; i < y.length; i++) {
      y[i] = f.applyAsDouble(epochs.get(i));
    }
    return y;
  }

  static XYChart sparsityChart(List<EpochRecord> epochs) {
    XYChart c = new XYChartBuilder().width(W).height(H).title("Global sparsity per epoch")
        .xAxisTitle("epoch").yAxisTitle("fraction of zero weights").build();
    style(c);
    c.getStyler().setYAxisMin(0.0).setYAxisMax(1.0);
    if (!epochs.isEmpty()) {
      c.addSeries("schedule (target)", xs(epochs), ys(epochs, e -> e.scheduledSparsity)).setMarker(SeriesMarkers.NONE);
      c.addSeries("achieved", xs(epochs), ys(epochs, e -> e.achievedSparsity)).setMarker(SeriesMarkers.CIRCLE);
    }
    return c;
  }

  static CategoryChart layerChart(List<EpochRecord> epochs) {
    CategoryChart c = new CategoryChartBuilder().width(W).height(H).title("Per-layer sparsity (final epoch)")
        .xAxisTitle("layer").yAxisTitle("fraction of zero weights").build();
    style(c);
    c.getStyler().setYAxisMin(0.0).setYAxisMax(1.0).setXAxisLabelRotation(45).setLegendVisible(false);
    Map<String, Double> layers = epochs.isEmpty() ? Map.of() : epochs.get(epochs.size() - 1).layerSparsity;
    if (!layers.isEmpty()) {
      c.addSeries("sparsity", new ArrayList<>(layers.keySet()), new ArrayList<>(layers.values()));
    } else {
      c.addSeries("sparsity", List.of("(none)"), List.of(0.0));
    }
    return c;
  }

  static XYChart lossChart(List<EpochRecord> epochs) {
    XYChart c = new XYChartBuilder().width(W).height(H).title("Train loss and test accuracy per epoch")
        .xAxisTitle("epoch").yAxisTitle("loss / accuracy").build();
    style(c);
    if (!epochs.isEmpty()) {
      c.addSeries("train loss", xs(epochs), ys(epochs, e -> e.trainLoss));
      c.addSeries("test top-1", xs(epochs), ys(epochs, e -> e.testTop1));
      c.addSeries("test top-5", xs(epochs), ys(epochs, e -> e.testTop5));
    }
    return c;
  }

  static CategoryChart throughputChart(List<EpochRecord> epochs) {
    CategoryChart c = new CategoryChartBuilder().width(W).height(H).title("Training throughput by phase")
        .xAxisTitle("phase").yAxisTitle("images/s").build();
    style(c);
    c.getStyler().setLegendVisible(false);
    List<String> names = new ArrayList<>();
    List<Double> values = new ArrayList<>();
    for (String[] p : new String[][] {{"dense", "dense"}, {"pruning", "pruning era"}, {"frozen", "frozen sparse"}}) {
      double v = meanThroughput(epochs, p[0]);
      if (!Double.isNaN(v)) {
        names.add(p[1]);
        values.add(v);
      }
    }
    if (names.isEmpty()) {
      names.add("(none)");
      values.add(0.0);
    }
    c.addSeries("images/s", names, values);
    return c;
  }

  private static void style(Chart<?, ?> c) {
    c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
    c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
  }

  private static byte[] png(Chart<?, ?> chart) throws IOException {
    return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
  }

  private static String fmt(Object v) {
    if (v instanceof Double) {
      double d = (Double) v;
      return Double.isNaN(d) ? "-" : String.format(Locale.ROOT, "%.4f", d);
    }
    return String.valueOf(v);
  }

  private static String esc(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  static String html(String title, Map<String, Object> fin, List<EpochRecord> epochs) {
    StringBuilder sb = new StringBuilder();
    sb.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>").append(esc(title))
        .append(" - sparsetrain</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            + "td,th{border:1px solid #999;padding:3px 8px;text-align:right}th{background:#eee}</style></head><body>\n");
    sb.append("<h1>").append(esc(title)).append("</h1>\n<h2>Final numbers</h2>\n<table>\n");
    fin.forEach((k, v) -> sb.append("<tr><th>").append(esc(k)).append("</th><td>").append(esc(fmt(v)))
        .append("</td></tr>\n"));
    sb.append("</table>\n");
    for (String[] img : new String[][] {{SPARSITY_PNG, "Scheduled and achieved global sparsity"},
        {LAYERS_PNG, "Per-layer sparsity"}, {LOSS_PNG, "Train loss, test top-1 / top-5"},
        {THROUGHPUT_PNG, "Images/s, dense vs frozen sparse"}}) {
      sb.append("<h2>").append(img[1]).append("</h2>\n<img src=\"").append(img[0]).append("\" alt=\"")
          .append(img[1]).append("\">\n");
    }
    sb.append("<h2>Per epoch</h2>\n<table>\n<tr><th>epoch</th><th>step</th><th>phase</th><th>train loss</th>"
        + "<th>top-1</th><th>top-5</th><th>target sparsity</th><th>achieved</th><th>images/s</th><th>lr</th>"
        + "<th>seconds</th></tr>\n");
    for (EpochRecord e : epochs) {
      sb.append(String.format(Locale.ROOT, "<tr><td>%d</td><td>%d</td><td>%s</td><td>%.4f</td><td>%.4f</td>"
              + "<td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.1f</td><td>%.2g</td><td>%.1f</td></tr>%n",
          e.epoch + 1, e.step, esc(e.phase), e.trainLoss, e.testTop1, e.testTop5, e.scheduledSparsity,
          e.achievedSparsity, e.imagesPerSecond, e.learningRate, e.seconds));
    }
    sb.append("</table>\n</body></html>\n");
    return sb.toString();
  }

  private static void write(FileSystem fs, Path p, byte[] bytes) throws IOException {
    try (OutputStream out = fs.create(p, true)) {
      out.write(bytes);
    }
  }
}
