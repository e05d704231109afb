package io.sparsetrain.jobs.compare;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sparsetrain.jobs.sparsify.SparsifyException;
import io.sparsetrain.jobs.sparsify.SparsifyJob;
import io.sparsetrain.jobs.sparsify.SparsifyMethod;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

/**
 * One comparison: every cell of {@link CompareOptions#cells()} is a sparsify run ({@link SparsifyJob#run}) into
 * {@code <output>/cells/<id>}, then the table of top-1 / top-5 on the test split and time to sparsify, with the
 * dense model's row, is written as {@value #JSON}, {@value #MARKDOWN} and {@value #HTML} with {@value #PNG},
 * each under a temporary name then renamed, {@value #JSON} last.
 *
 * <p>A cell whose directory holds a {@code sparsify.json} is finished; {@code --resume} skips it (after checking
 * that it was made with this comparison's settings) and lets an interrupted learned cell continue from its own
 * checkpoint.
 */
public final class CompareJob {
  public static final String JSON = "compare.json";
  public static final String MARKDOWN = "compare.md";
  public static final String HTML = "report.html";
  public static final String PNG = "accuracy-vs-sparsity.png";
  public static final String CELLS = "cells";
  static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private CompareJob() {}

  /**
   * One row of the table.
   *
   * @param target the global target sparsity (null for N:M methods and str-bn)
   * @param sparsity the achieved fraction of zero weights (N:M and global methods) or, for str-bn, the fraction of
   *     parameters removed with the filters
   * @param top1 test top-1 in [0, 1] after sparsification
   * @param top5 test top-5 in [0, 1]
   * @param sparsifySeconds time to compute and apply the masks (str-bn: train and remove), without evaluations
   * @param wallSeconds the cell's whole sparsify run, with its evaluations
   * @param skipped whether this run found the cell finished and did not run it
   */
  public record Row(String cell, String method, Double target, String nm, double sparsity, double top1, double top5,
                    double sparsifySeconds, double wallSeconds, String detail, boolean skipped) {}

  /** What a comparison produced (also written to the output directory). */
  public record Result(double denseTop1, double denseTop5, long testExamples, List<Row> rows, Map<String, Object> json) {}

  public static Result run(SparkSession spark, CompareOptions o, Consumer<String> progress) {
    long t0 = System.nanoTime();
    Configuration hconf = spark.sparkContext().hadoopConfiguration();
    Path out = new Path(o.output());
    FileSystem fs;
    try {
      fs = out.getFileSystem(hconf);
      preflight(fs, out, o);
    } catch (IOException e) {
      throw new CompareException("--output " + o.output() + " is not usable: " + e.getMessage(), e);
    }
    List<CompareOptions.Cell> cells = o.cells();
    progress.accept("compare: " + cells.size() + " cells " + cells.stream().map(CompareOptions.Cell::id).toList()
        + ", model " + o.model() + ", data " + o.data());
    List<Row> rows = new ArrayList<>();
    List<Map<String, Object>> jsons = new ArrayList<>();
    int ran = 0;
    for (int i = 0; i < cells.size(); i++) {
      CompareOptions.Cell c = cells.get(i);
      Path dir = new Path(out, CELLS + "/" + c.id());
      Path done = new Path(dir, "sparsify.json");
      String head = String.format(Locale.ROOT, "compare: cell %d/%d %s", i + 1, cells.size(), c.id());
      Map<String, Object> j;
      boolean skipped;
      try {
        if (fs.exists(done)) {
          j = readJson(fs, done);
          checkSameSettings(c, j, done);
          skipped = true;
          progress.accept(head + ": finished before, skipped");
        } else {
          progress.accept(head + ": running sparsify --method " + c.method()
              + (c.target() == null ? "" : " --target " + c.target()));
          SparsifyJob.run(spark, c.options(), line -> progress.accept("[" + c.id() + "] " + line));
          j = readJson(fs, done);
          skipped = false;
          ran++;
        }
      } catch (IOException e) {
        throw new CompareException("cell " + c.id() + " (" + dir + "): " + e.getMessage(), e);
      } catch (SparsifyException e) {
        throw new CompareException("cell " + c.id() + ": " + e.getMessage(), e);
      }
      Row r = row(c, j, skipped);
      rows.add(r);
      jsons.add(j);
      progress.accept(String.format(Locale.ROOT, "%s: top-1 %.4f top-5 %.4f sparsity %.4f, %.1f s to sparsify", head,
          r.top1(), r.top5(), r.sparsity(), r.sparsifySeconds()));
    }
    // every cell evaluated the same dense model on the same test images: its "before" is the dense row
    double denseTop1 = num(jsons.get(0), "top1Before");
    double denseTop5 = num(jsons.get(0), "top5Before");
    long examples = (long) num(jsons.get(0), "testExamples");
    for (int i = 1; i < jsons.size(); i++) {
      if (num(jsons.get(i), "top1Before") != denseTop1 || (long) num(jsons.get(i), "testExamples") != examples) {
        throw new CompareException("cells " + rows.get(0).cell() + " and " + rows.get(i).cell() + " evaluated the dense "
            + "model differently (top-1 " + denseTop1 + " on " + examples + " vs " + num(jsons.get(i), "top1Before")
            + " on " + (long) num(jsons.get(i), "testExamples") + " images): not the same model or test split");
      }
    }
    Result result = new Result(denseTop1, denseTop5, examples, rows, null);
    Map<String, Object> json = CompareReport.json(o, result, (System.nanoTime() - t0) / 1e9, ran);
    result = new Result(denseTop1, denseTop5, examples, rows, json);
    try {
      SparsifyJob.write(fs, new Path(out, MARKDOWN), CompareReport.markdown(result).getBytes(
          java.nio.charset.StandardCharsets.UTF_8));
      SparsifyJob.write(fs, new Path(out, PNG), CompareReport.png(result));
      SparsifyJob.write(fs, new Path(out, HTML), CompareReport.html(result));
      SparsifyJob.write(fs, new Path(out, JSON), MAPPER.writeValueAsBytes(json)); // last: marks a finished comparison
    } catch (IOException e) {
      throw new CompareException("--output " + o.output() + ": " + e.getMessage(), e);
    }
    progress.accept(CompareReport.markdownTable(result).trim());
    progress.accept("compare: done (" + ran + " cells run, " + (rows.size() - ran) + " skipped), " + new Path(out, HTML));
    return result;
  }

  private static void preflight(FileSystem fs, Path out, CompareOptions o) throws IOException {
    Path cells = new Path(out, CELLS);
    if (fs.exists(new Path(out, JSON)) && !o.overwrite() && !o.resume()) {
      throw new CompareException("--output " + o.output() + " already holds a finished comparison (" + JSON + "); "
          + "pass --resume to reuse its cells (adding new ones), --overwrite to start again, or choose another directory");
    }
    if (fs.exists(cells) && !o.resume() && !o.overwrite()) {
      throw new CompareException("--output " + o.output() + " holds cells of an unfinished comparison (" + cells + "): "
          + "pass --resume to skip the finished ones, or --overwrite to start again");
    }
    if (o.overwrite()) {
      for (String f : List.of(CELLS, JSON, MARKDOWN, HTML, PNG)) {
        fs.delete(new Path(out, f), true);
      }
    }
    fs.mkdirs(cells);
  }

  /** A finished cell must be what this comparison would run: same method, target and sparsify options. */
  private static void checkSameSettings(CompareOptions.Cell c, Map<String, Object> j, Path where) {
    @SuppressWarnings("unchecked")
    Map<String, Object> had = (Map<String, Object>) j.get("options");
    if (had == null) {
      throw new CompareException(where + " has no options: not written by the sparsify job");
    }
    Map<String, Object> want = c.options().asMap();
    for (Map.Entry<String, Object> e : want.entrySet()) {
      if (e.getKey().equals("output")) {
        continue; // the same directory, spelled however the first run spelled it
      }
      Object a = e.getValue();
      Object b = had.get(e.getKey());
      boolean same = a instanceof Number x && b instanceof Number y ? x.doubleValue() == y.doubleValue() : Objects.equals(a, b);
      if (!same) {
        throw new CompareException("cannot resume: finished cell " + where + " was made with " + e.getKey() + " = " + b
            + ", this comparison gives " + e.getKey() + " = " + a + "; use the first run's options or --overwrite");
      }
    }
  }

  private static Row row(CompareOptions.Cell c, Map<String, Object> j, boolean skipped) {
    boolean strBn = c.method() == SparsifyMethod.STR_BN;
    double sparsity = strBn ? num(j, "parameterReduction") : num(j, "achievedGlobalSparsity");
    String detail = strBn ? String.format(Locale.ROOT, "%d of %d filters removed, MACs -%.1f%%",
        (long) num(j, "filtersRemoved"), (long) num(j, "filtersBefore"), 100 * num(j, "multiplyAddReduction")) : "";
    return new Row(c.id(), c.method().cliName(), c.target(), (String) j.get("nm"), sparsity, num(j, "top1After"),
        num(j, "top5After"), num(j, "sparsifySeconds"), num(j, "wallSeconds"), detail, skipped);
  }

  static double num(Map<String, Object> j, String key) {
    Object v = j.get(key);
    if (!(v instanceof Number n)) {
      throw new CompareException("sparsify.json has no number '" + key + "' (got " + v + "): written by an older "
          + "sparsify job? re-run the cell (--overwrite)");
    }
    return n.doubleValue();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> readJson(FileSystem fs, Path p) throws IOException {
    try (InputStream in = fs.open(p)) {
      return MAPPER.readValue(in, Map.class);
    }
  }
}
