package io.sparsetrain.jobs.sparsify;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/** The report page and per-layer filters chart of a {@code str-bn} run ({@link StrBnRun}). */
final class StrBnReport {
  private StrBnReport() {}

  @SuppressWarnings("unchecked")
  static byte[] filtersPng(Map<String, Object> summary) throws IOException {
    List<Map<String, Object>> layers = (List<Map<String, Object>>) summary.get("layers");
    CategoryChart c = new CategoryChartBuilder().width(900).height(450).title("Filters kept and removed per layer (str-bn)")
        .xAxisTitle("layer").yAxisTitle("filters").build();
    c.getStyler().setStacked(true).setXAxisLabelRotation(60).setLegendPosition(Styler.LegendPosition.InsideNE)
        .setChartBackgroundColor(java.awt.Color.WHITE);
    List<String> names = new ArrayList<>();
    List<Integer> kept = new ArrayList<>();
    List<Integer> removed = new ArrayList<>();
    for (Map<String, Object> l : layers) {
      names.add((String) l.get("name"));
      kept.add(((Number) l.get("filtersAfter")).intValue());
      removed.add(((Number) l.get("removed")).intValue());
    }
    if (names.isEmpty()) {
      names.add("(none)");
      kept.add(0);
      removed.add(0);
    }
    c.addSeries("kept", names, kept);
    c.addSeries("removed", names, removed);
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
    sb.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>sparsify str-bn - sparsetrain</title>\n"
        + "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        + "td,th{border:1px solid #999;padding:3px 8px;text-align:right}th{background:#eee}</style></head><body>\n");
    sb.append("<h1>sparsify: str-bn (structured filter pruning)</h1>\n<table>\n");
    for (String k : List.of("filtersBefore", "filtersRemoved", "fractionFiltersRemoved", "parametersBefore",
        "parametersAfter", "parameterReduction", "multiplyAddsBefore", "multiplyAddsAfter", "multiplyAddReduction",
        "top1Before", "top1After", "top5Before", "top5After", "testExamples", "calibrationExamples", "steps",
        "sparsifySeconds", "wallSeconds", "execution")) {
      sb.append("<tr><th>").append(k).append("</th><td>").append(esc(fmt(summary.get(k)))).append("</td></tr>\n");
    }
    sb.append("</table>\n<p>The output model.zip is a smaller dense model: the removed filters (and the next layers' "
        + "input slices) are gone, not masked.</p>\n");
    sb.append("<h2>Filters per layer</h2>\n<img src=\"").append(StrBnRun.FILTERS_PNG).append("\" alt=\"filters per layer\">\n");
    sb.append("<table>\n<tr><th>layer</th><th>batch norm</th><th>filters</th><th>dead</th><th>kept</th><th>removed</th></tr>\n");
    for (Map<String, Object> l : (List<Map<String, Object>>) summary.get("layers")) {
      sb.append("<tr><td>").append(esc(l.get("name"))).append("</td><td>").append(esc(l.get("batchNorm")))
          .append("</td><td>").append(l.get("filtersBefore")).append("</td><td>").append(l.get("dead"))
          .append("</td><td>").append(l.get("filtersAfter")).append("</td><td>").append(l.get("removed"))
          .append("</td></tr>\n");
    }
    sb.append("</table>\n");
    List<String> notes = (List<String>) summary.get("notes");
    if (notes != null && !notes.isEmpty()) {
      sb.append("<h2>Notes</h2>\n<ul>\n");
      notes.forEach(n -> sb.append("<li>").append(esc(n)).append("</li>\n"));
      sb.append("</ul>\n");
    }
    sb.append("<h2>Options</h2>\n<table>\n");
    ((Map<String, Object>) summary.get("options")).forEach((k, v) -> sb.append("<tr><th>").append(esc(k))
        .append("</th><td>").append(esc(v)).append("</td></tr>\n"));
    sb.append("</table>\n</body></html>\n");
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }
}
