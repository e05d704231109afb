package io.sparsetrain.jobs.sparsify;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;

/** sparsify.json, the per-layer sparsity PNG and the small HTML report of a run. */
final class SparsifyReport {
  static final String JSON = "sparsify.json";
  static final String HTML = "report.html";
  static final String LAYERS_PNG = "layer-sparsity.png";
  static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private SparsifyReport() {}

  static byte[] json(Map<String, Object> summary) throws IOException {
    return MAPPER.writeValueAsBytes(summary);
  }

  @SuppressWarnings("unchecked")
  static byte[] layerPng(Map<String, Object> summary) throws IOException {
    List<Map<String, Object>> layers = (List<Map<String, Object>>) summary.get("layers");
    CategoryChart c = new CategoryChartBuilder().width(800).height(450)
        .title("Per-layer sparsity (" + summary.get("method") + ")").xAxisTitle("layer")
        .yAxisTitle("fraction of zero weights").build();
    c.getStyler().setYAxisMin(0.0).setYAxisMax(1.0).setXAxisLabelRotation(45).setLegendVisible(false)
        .setChartBackgroundColor(java.awt.Color.WHITE);
    List<String> names = new ArrayList<>();
    List<Double> values = new ArrayList<>();
    for (Map<String, Object> l : layers) {
      names.add((String) l.get("name"));
      values.add(((Number) l.get("sparsity")).doubleValue());
    }
    if (names.isEmpty()) {
      names.add("(none)");
      values.add(0.0);
    }
    c.addSeries("sparsity", names, values);
    return BitmapEncoder.getBitmapBytes(c, BitmapEncoder.BitmapFormat.PNG);
  }

  private static String esc(Object o) {
    return String.valueOf(o).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  private static String fmt(Object v) {
    if (v instanceof Double d) {
      return Double.isNaN(d) ? "-" : String.format(Locale.ROOT, "%.4f", d);
    }
    return String.valueOf(v);
  }

  @SuppressWarnings("unchecked")
  static byte[] html(Map<String, Object> summary) {
    StringBuilder sb = new StringBuilder();
    sb.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>sparsify ").append(esc(summary.get("method")))
        .append(" - sparsetrain</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            + "td,th{border:1px solid #999;padding:3px 8px;text-align:right}th{background:#eee}</style></head><body>\n");
    sb.append("<h1>sparsify: ").append(esc(summary.get("method"))).append("</h1>\n<table>\n");
    for (String k : List.of("method", "targetSparsity", "achievedGlobalSparsity", "top1Before", "top1After",
        "testExamples", "calibrationExamples", "steps", "wallSeconds", "maskChecksum")) {
      if (summary.containsKey(k)) {
        sb.append("<tr><th>").append(k).append("</th><td>").append(esc(fmt(summary.get(k)))).append("</td></tr>\n");
      }
    }
    sb.append("</table>\n");
    Object baselines = summary.get("baselines");
    if (baselines instanceof Map<?, ?> b && !b.isEmpty()) {
      sb.append("<h2>Baselines at the same sparsity (test top-1)</h2>\n<table>\n");
      b.forEach((k, v) -> sb.append("<tr><th>").append(esc(k)).append("</th><td>").append(esc(fmt(v)))
          .append("</td></tr>\n"));
      sb.append("</table>\n");
    }
    sb.append("<h2>Per-layer sparsity</h2>\n<img src=\"").append(LAYERS_PNG).append("\" alt=\"per-layer sparsity\">\n");
    sb.append("<table>\n<tr><th>layer</th><th>shape</th><th>weights</th><th>zeros</th><th>sparsity</th>"
        + "<th title=\"sum of w^2 the mask keeps over the layer's sum of w^2\">kept weight energy</th><th>kernel</th></tr>\n");
    for (Map<String, Object> l : (List<Map<String, Object>>) summary.get("layers")) {
      Object kept = l.get("keptWeightEnergy");
      sb.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%.4f</td><td>%s</td><td>%s</td></tr>%n",
          esc(l.get("name")), esc(l.get("shape")), l.get("weights"), l.get("zeros"),
          ((Number) l.get("sparsity")).doubleValue(),
          kept instanceof Number n ? String.format(Locale.ROOT, "%.4f", n.doubleValue()) : "", esc(l.get("kernel"))));
    }
    sb.append("</table>\n</body></html>\n");
    return sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }
}
