package io.sparsetrain.jobs.compare;

import java.awt.Color;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** compare.json, the markdown table, the accuracy-vs-sparsity PNG and the HTML page of a comparison. */
final class CompareReport {
  private CompareReport() {}

  static Map<String, Object> json(CompareOptions o, CompareJob.Result r, double wallSeconds, int cellsRun) {
    Map<String, Object> j = new LinkedHashMap<>();
    j.put("formatVersion", 1);
    Map<String, Object> dense = new LinkedHashMap<>();
    dense.put("top1", r.denseTop1());
    dense.put("top5", r.denseTop5());
    j.put("dense", dense);
    j.put("testExamples", r.testExamples());
    List<Map<String, Object>> rows = new ArrayList<>();
    for (CompareJob.Row row : r.rows()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("cell", row.cell());
      m.put("method", row.method());
      m.put("targetSparsity", row.target());
      m.put("nm", row.nm());
      m.put("sparsity", row.sparsity());
      m.put("top1", row.top1());
      m.put("top5", row.top5());
      m.put("top1Drop", r.denseTop1() - row.top1());
      m.put("sparsifySeconds", row.sparsifySeconds());
      m.put("wallSeconds", row.wallSeconds());
      m.put("detail", row.detail());
      m.put("output", CompareJob.CELLS + "/" + row.cell());
      m.put("skippedThisRun", row.skipped());
      rows.add(m);
    }
    j.put("rows", rows);
    j.put("cellsRunThisTime", cellsRun);
    j.put("wallSeconds", wallSeconds);
    j.put("options", o.asMap());
    return j;
  }

  private static String pct(double fraction) {
    return String.format(Locale.ROOT, "%.2f", 100 * fraction);
  }

  private static String sparsityLabel(CompareJob.Row r) {
    if (r.target() != null) {
      return CompareOptions.percent(r.target()) + "%";
    }
    if (r.nm() != null) {
      return r.nm();
    }
    return String.format(Locale.ROOT, "%.1f%% params", 100 * r.sparsity());
  }

  /** The papers' table: one row per cell, dense first. */
  static String markdownTable(CompareJob.Result r) {
    StringBuilder sb = new StringBuilder();
    sb.append("| Method | Sparsity | Achieved | Top-1 (%) | Top-5 (%) | Δ Top-1 | Time to sparsify (s) | Note |\n");
    sb.append("|---|---:|---:|---:|---:|---:|---:|---|\n");
    sb.append("| dense | 0% | 0.00% | ").append(pct(r.denseTop1())).append(" | ").append(pct(r.denseTop5()))
        .append(" | - | - | |\n");
    for (CompareJob.Row row : r.rows()) {
      sb.append("| ").append(row.method()).append(" | ").append(sparsityLabel(row)).append(" | ")
          .append(pct(row.sparsity())).append("% | ").append(pct(row.top1())).append(" | ").append(pct(row.top5()))
          .append(" | ").append(String.format(Locale.ROOT, "%+.2f", 100 * (row.top1() - r.denseTop1()))).append(" | ")
          .append(String.format(Locale.ROOT, "%.1f", row.sparsifySeconds())).append(" | ").append(row.detail())
          .append(" |\n");
    }
    return sb.toString();
  }

  /** Top-1 by method (rows) and sparsity (columns), the global-rate methods only. */
  static String pivot(CompareJob.Result r) {
    List<Double> targets = r.rows().stream().map(CompareJob.Row::target).filter(t -> t != null).distinct().sorted()
        .toList();
    List<String> methods = r.rows().stream().filter(x -> x.target() != null).map(CompareJob.Row::method).distinct()
        .toList();
    if (targets.isEmpty()) {
      return "";
    }
    StringBuilder sb = new StringBuilder("| Top-1 (%) |");
    targets.forEach(t -> sb.append(' ').append(CompareOptions.percent(t)).append("% |"));
    sb.append("\n|---|");
    targets.forEach(t -> sb.append("---:|"));
    sb.append("\n| dense |");
    targets.forEach(t -> sb.append(' ').append(pct(r.denseTop1())).append(" |"));
    sb.append('\n');
    for (String m : methods) {
      sb.append("| ").append(m).append(" |");
      for (double t : targets) {
        String v = r.rows().stream().filter(x -> m.equals(x.method()) && x.target() != null && x.target() == t)
            .map(x -> pct(x.top1())).findFirst().orElse("-");
        sb.append(' ').append(v).append(" |");
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  static String markdown(CompareJob.Result r) {
    @SuppressWarnings("unchecked")
    Map<String, Object> options = (Map<String, Object>) r.json().get("options");
    StringBuilder sb = new StringBuilder("# Sparsification methods compared\n\n");
    sb.append("Model `").append(options.get("model")).append("`, data `").append(options.get("data")).append("`; top-1 / "
        + "top-5 on ").append(r.testExamples()).append(" test images. Sparsity: global fraction of zero weights in the "
        + "convolutions and hidden dense layers (the classifier stays dense); for str-bn, the fraction of parameters "
        + "removed with whole filters (a smaller dense model). Time to sparsify: computing and applying the masks "
        + "(learned methods: training), without the evaluations.\n\n");
    sb.append(markdownTable(r)).append('\n');
    String pivot = pivot(r);
    if (!pivot.isEmpty()) {
      sb.append("## Top-1 by global sparsity\n\n").append(pivot).append('\n');
    }
    sb.append("Sparsify options of every cell: `").append(options.get("sparsifyOptions")).append("`. Each cell's "
        + "outputs (model, masks, sparsify.json, report) are in `cells/<cell>/`.\n");
    return sb.toString();
  }

  static byte[] png(CompareJob.Result r) throws IOException {
    XYChart c = new XYChartBuilder().width(800).height(500).title("Test top-1 vs sparsity")
        .xAxisTitle("sparsity (% of weights zero; str-bn: % of parameters removed)").yAxisTitle("top-1 (%)").build();
    c.getStyler().setXAxisMin(0.0).setXAxisMax(100.0);
    c.getStyler().setLegendPosition(Styler.LegendPosition.InsideSW).setChartBackgroundColor(Color.WHITE);
    double min = 100 * r.denseTop1();
    Map<String, List<double[]>> series = new LinkedHashMap<>();
    for (CompareJob.Row row : r.rows()) {
      String name = row.target() != null || row.nm() == null ? row.method() : row.method() + " " + row.nm();
      series.computeIfAbsent(name, k -> new ArrayList<>()).add(new double[] {100 * row.sparsity(), 100 * row.top1()});
      min = Math.min(min, 100 * row.top1());
    }
    XYSeries dense = c.addSeries(String.format(Locale.ROOT, "dense (%.2f)", 100 * r.denseTop1()), new double[] {0, 100},
        new double[] {100 * r.denseTop1(), 100 * r.denseTop1()});
    dense.setMarker(SeriesMarkers.NONE).setLineStyle(SeriesLines.DASH_DASH).setLineColor(Color.BLACK);
    for (Map.Entry<String, List<double[]>> e : series.entrySet()) {
      List<double[]> pts = new ArrayList<>(e.getValue());
      pts.sort((a, b) -> Double.compare(a[0], b[0]));
      double[] x = pts.stream().mapToDouble(p -> p[0]).toArray();
      double[] y = pts.stream().mapToDouble(p -> p[1]).toArray();
      XYSeries s = c.addSeries(e.getKey(), x, y);
      if (pts.size() == 1) {
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
      }
    }
    c.getStyler().setYAxisMin(Math.max(0, Math.floor(min / 5) * 5 - 5)).setYAxisMax(100.0);
    return BitmapEncoder.getBitmapBytes(c, BitmapEncoder.BitmapFormat.PNG);
  }

  private static String esc(Object o) {
    return String.valueOf(o).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  static byte[] html(CompareJob.Result r) {
    StringBuilder sb = new StringBuilder();
    sb.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>compare - sparsetrain</title>\n<style>"
        + "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #999;"
        + "padding:3px 8px;text-align:right}th{background:#eee}td:first-child{text-align:left}</style></head><body>\n");
    sb.append("<h1>Sparsification methods compared</h1>\n");
    sb.append("<p>Top-1 / top-5 on ").append(r.testExamples()).append(" test images. Sparsity: global fraction of zero "
        + "weights; for str-bn the fraction of parameters removed with whole filters.</p>\n");
    sb.append("<img src=\"").append(CompareJob.PNG).append("\" alt=\"top-1 vs sparsity\">\n");
    sb.append("<table>\n<tr><th>method</th><th>sparsity</th><th>achieved</th><th>top-1 (%)</th><th>top-5 (%)</th>"
        + "<th>&Delta; top-1</th><th>time to sparsify (s)</th><th>note</th><th>cell</th></tr>\n");
    sb.append("<tr><td>dense</td><td>0%</td><td>0.00%</td><td>").append(pct(r.denseTop1())).append("</td><td>")
        .append(pct(r.denseTop5())).append("</td><td>-</td><td>-</td><td></td><td></td></tr>\n");
    for (CompareJob.Row row : r.rows()) {
      sb.append("<tr><td>").append(esc(row.method())).append("</td><td>").append(esc(sparsityLabel(row)))
          .append("</td><td>").append(pct(row.sparsity())).append("%</td><td>").append(pct(row.top1()))
          .append("</td><td>").append(pct(row.top5())).append("</td><td>")
          .append(String.format(Locale.ROOT, "%+.2f", 100 * (row.top1() - r.denseTop1()))).append("</td><td>")
          .append(String.format(Locale.ROOT, "%.1f", row.sparsifySeconds())).append("</td><td>").append(esc(row.detail()))
          .append("</td><td><a href=\"").append(CompareJob.CELLS).append('/').append(esc(row.cell()))
          .append("/report.html\">").append(esc(row.cell())).append("</a></td></tr>\n");
    }
    sb.append("</table>\n</body></html>\n");
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }
}
