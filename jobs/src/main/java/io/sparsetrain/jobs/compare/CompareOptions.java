package io.sparsetrain.jobs.compare;

import io.sparsetrain.jobs.sparsify.SparsifyException;
import io.sparsetrain.jobs.sparsify.SparsifyMethod;
import io.sparsetrain.jobs.sparsify.SparsifyOptions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The settings of one comparison ({@link CompareJob}): which methods at which global sparsities, and the sparsify
 * options every cell gets. Validated in {@link Builder#build()}, which also builds (and so validates) every cell's
 * {@link SparsifyOptions}: a bad setting fails before any Spark work. Immutable.
 */
public final class CompareOptions {
  /** Global sparsities (fractions of zeros) of the papers' tables. */
  public static final List<Double> DEFAULT_TARGETS = List.of(0.5, 0.6, 0.7, 0.8, 0.9);
  /** Global-rate methods at every target, then the N:M methods once; str-bn only when asked. */
  public static final List<SparsifyMethod> DEFAULT_METHODS = List.of(SparsifyMethod.UNIFORM, SparsifyMethod.ERK,
      SparsifyMethod.ALLOCATION, SparsifyMethod.MAGNITUDE_NM, SparsifyMethod.LEARNED_NM);

  private final String model;
  private final String data;
  private final String output;
  private final List<Double> targets;
  private final List<SparsifyMethod> methods;
  private final boolean resume;
  private final boolean overwrite;
  private final UnaryOperator<SparsifyOptions.Builder> passThrough;
  private final Map<String, Object> passThroughSettings;
  private final List<Cell> cells;

  /**
   * One cell of the table: a sparsify run.
   *
   * @param id directory name under {@code cells/}, e.g. {@code uniform-70}, {@code learned-nm-2of4}, {@code str-bn}
   * @param target global sparsity for the global-rate methods, null for N:M methods and str-bn
   * @param options the sparsify options of the cell (output {@code <output>/cells/<id>})
   */
  public record Cell(String id, SparsifyMethod method, Double target, SparsifyOptions options) {}

  private CompareOptions(Builder b, List<Double> targets, List<SparsifyMethod> methods, List<Cell> cells) {
    model = b.model;
    data = b.data;
    output = b.output;
    this.targets = List.copyOf(targets);
    this.methods = List.copyOf(methods);
    resume = b.resume;
    overwrite = b.overwrite;
    passThrough = b.passThrough;
    passThroughSettings = Map.copyOf(b.passThroughSettings);
    this.cells = List.copyOf(cells);
  }

  public static Builder builder() {
    return new Builder();
  }

  public String model() { return model; }
  public String data() { return data; }
  public String output() { return output; }
  /** Global sparsities of the global-rate methods, fractions of zeros, ascending. */
  public List<Double> targets() { return targets; }
  public List<SparsifyMethod> methods() { return methods; }
  public boolean resume() { return resume; }
  public boolean overwrite() { return overwrite; }
  /** The table's cells in run order: per method (in {@link #methods()} order), per target. */
  public List<Cell> cells() { return cells; }

  /**
   * Parses {@code --targets}: comma-separated fractions in (0, 1), e.g. {@code 0.5,0.7}.
   *
   * @throws CompareException naming the bad entry
   */
  public static List<Double> parseTargets(String s) {
    if (s == null || s.isBlank()) {
      throw new CompareException("--targets is empty; give fractions of zeros, e.g. 0.5,0.6,0.7,0.8,0.9");
    }
    List<Double> out = new ArrayList<>();
    for (String part : s.split(",", -1)) {
      String p = part.trim();
      double v;
      try {
        v = Double.parseDouble(p);
      } catch (NumberFormatException e) {
        throw new CompareException("--targets '" + s + "': '" + p + "' is not a number; give fractions of zeros, e.g. "
            + "0.5,0.7");
      }
      out.add(v);
    }
    return out;
  }

  /**
   * Parses {@code --methods}: comma-separated sparsify method names.
   *
   * @throws CompareException naming the bad entry and the accepted names
   */
  public static List<SparsifyMethod> parseMethods(String s) {
    if (s == null || s.isBlank()) {
      throw new CompareException("--methods is empty; " + accepted());
    }
    List<SparsifyMethod> out = new ArrayList<>();
    for (String part : s.split(",", -1)) {
      try {
        out.add(SparsifyMethod.fromCli(part.trim()));
      } catch (SparsifyException e) {
        throw new CompareException("--methods '" + s + "': unknown method '" + part.trim() + "'; " + accepted());
      }
    }
    return out;
  }

  private static String accepted() {
    StringBuilder sb = new StringBuilder("accepted: ");
    for (SparsifyMethod m : SparsifyMethod.values()) {
      if (m != SparsifyMethod.APPLY) {
        sb.append(m.cliName()).append(m == SparsifyMethod.STR_BN ? "" : ", ");
      }
    }
    return sb.toString();
  }

  /** The cell directory name for a method and target. */
  static String cellId(SparsifyMethod method, Double target, int n, int m) {
    if (target != null) {
      return method.cliName() + "-" + percent(target);
    }
    return method.isNm() ? method.cliName() + "-" + n + "of" + m : method.cliName();
  }

  /** 0.7 -> "70", 0.925 -> "92.5". */
  static String percent(double fraction) {
    String s = String.format(Locale.ROOT, "%.4f", fraction * 100).replaceAll("0+$", "");
    return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
  }

  /** Every setting, for compare.json and the job log. */
  public Map<String, Object> asMap() {
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("model", model);
    o.put("data", data);
    o.put("output", output);
    o.put("targets", targets);
    o.put("methods", methods.stream().map(SparsifyMethod::cliName).toList());
    o.put("sparsifyOptions", new java.util.TreeMap<>(passThroughSettings));
    return o;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("compare options:\n");
    asMap().forEach((k, v) -> sb.append("  ").append(k).append(" = ").append(v).append('\n'));
    sb.append("  cells = ").append(cells.stream().map(Cell::id).toList()).append('\n');
    return sb.toString();
  }

  /** Builder; model, data and output are required. */
  public static final class Builder {
    private String model;
    private String data;
    private String output;
    private List<Double> targets = DEFAULT_TARGETS;
    private List<SparsifyMethod> methods = DEFAULT_METHODS;
    private boolean resume;
    private boolean overwrite;
    private UnaryOperator<SparsifyOptions.Builder> passThrough = b -> b;
    private final Map<String, Object> passThroughSettings = new LinkedHashMap<>();

    private Builder() {}

    public Builder model(String v) { model = v; return this; }
    public Builder data(String v) { data = v; return this; }
    public Builder output(String v) { output = v; return this; }
    public Builder targets(List<Double> v) { targets = v; return this; }
    public Builder methods(List<SparsifyMethod> v) { methods = v; return this; }
    public Builder resume(boolean v) { resume = v; return this; }
    public Builder overwrite(boolean v) { overwrite = v; return this; }

    /**
     * A sparsify option every cell gets, e.g. {@code sparsify("--epochs", 2, b -> b.epochs(2))}; the name and
     * value are logged and written to compare.json.
     */
    public Builder sparsify(String option, Object value, UnaryOperator<SparsifyOptions.Builder> setter) {
      UnaryOperator<SparsifyOptions.Builder> before = passThrough;
      passThrough = b -> setter.apply(before.apply(b));
      passThroughSettings.put(option, value);
      return this;
    }

    private static void require(boolean ok, String message) {
      if (!ok) {
        throw new CompareException(message);
      }
    }

    public CompareOptions build() {
      require(model != null && !model.isBlank(), "--model is required (a DL4J model zip or a train job's output dir)");
      require(data != null && !data.isBlank(), "--data is required (a prepared dataset with train and test splits)");
      require(output != null && !output.isBlank(), "--output is required");
      require(methods != null && !methods.isEmpty(), "--methods is empty; " + accepted());
      require(!methods.contains(SparsifyMethod.APPLY), "--methods: apply re-applies a mask file and is not a method to "
          + "compare; " + accepted());
      require(new LinkedHashSet<>(methods).size() == methods.size(), "--methods lists a method twice: " + methods);
      boolean global = methods.stream().anyMatch(SparsifyMethod::needsTarget);
      List<Double> sorted = new ArrayList<>(targets == null ? List.of() : targets);
      if (global) {
        require(!sorted.isEmpty(), "--targets is empty; methods " + methods + " need global sparsities");
        for (double t : sorted) {
          require(t > 0 && t < 1, "--targets must be fractions of zeros in (0, 1) (0.7, not 70), got " + t
              + " in " + targets);
        }
        require(new LinkedHashSet<>(sorted).size() == sorted.size(), "--targets lists a sparsity twice: " + targets);
        sorted.sort(Double::compare);
      }
      require(!resume || !overwrite, "--resume and --overwrite exclude each other");
      List<Cell> cells = new ArrayList<>();
      String cellsDir = output.endsWith("/") ? output + "cells" : output + "/cells";
      for (SparsifyMethod m : methods) {
        for (Double t : m.needsTarget() ? sorted : java.util.Collections.<Double>singletonList(null)) {
          SparsifyOptions.Builder b = passThrough.apply(SparsifyOptions.builder().model(model).data(data).method(m)
              .target(t));
          SparsifyOptions probe;
          try {
            probe = b.output("probe").build();
          } catch (SparsifyException e) {
            throw new CompareException("sparsify options for " + m + (t == null ? "" : " at " + t) + ": "
                + e.getMessage(), e);
          }
          String id = cellId(m, t, probe.n(), probe.m());
          SparsifyOptions o = b.output(cellsDir + "/" + id).resume(resume).build();
          cells.add(new Cell(id, m, t, o));
        }
      }
      return new CompareOptions(this, global ? sorted : List.of(), methods, cells);
    }
  }
}
