package io.sparsetrain.jobs.throughput;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * What the throughput benchmark measures: which training phases, at which worker counts, with how many warm-up and
 * measured averaging rounds per case, and where the JSON goes. Immutable; {@link #builder()} validates.
 */
public final class ThroughputOptions {
  public static final List<Phase> DEFAULT_PHASES = List.of(Phase.DENSE, Phase.FROZEN_NM, Phase.FROZEN_COMBINED);
  public static final List<Integer> DEFAULT_WORKER_COUNTS = List.of(1, 2);
  public static final int DEFAULT_WARMUP_ROUNDS = 2;
  public static final int DEFAULT_ROUNDS = 5;
  /** Global sparsity (fraction of zeros) of the frozen combined masks. */
  public static final double DEFAULT_COMBINED_SPARSITY = 0.7;

  /** A training phase whose throughput is measured. */
  public enum Phase {
    /** Dense weights (all-ones masks), as before the pruning era. */
    DENSE("dense", "dense"),
    /** Frozen N:M masks (2:4 unless train.pruning.n/m say otherwise): N:M layers on the compressed kernels. */
    FROZEN_NM("frozen-nm", "frozen N:M (compressed)"),
    /** Frozen combined (window then CK) masks at the combined sparsity, layers on the dense kernels. */
    FROZEN_COMBINED("frozen-combined", "frozen combined");

    private final String cliName;
    private final String label;

    Phase(String cliName, String label) {
      this.cliName = cliName;
      this.label = label;
    }

    /** The name on the command line and in the JSON. */
    public String cliName() {
      return cliName;
    }

    /** The name in the printed table. */
    public String label() {
      return label;
    }

    /** The phase of a command-line name. */
    public static Phase of(String name) {
      for (Phase p : values()) {
        if (p.cliName.equals(name)) {
          return p;
        }
      }
      List<String> names = new ArrayList<>();
      for (Phase p : values()) {
        names.add(p.cliName);
      }
      throw new IllegalArgumentException("--phases: unknown phase '" + name + "', expected one of " + names);
    }
  }

  private final List<Phase> phases;
  private final List<Integer> workerCounts;
  private final int warmupRounds;
  private final int rounds;
  private final double combinedSparsity;
  private final String jsonPath;

  private ThroughputOptions(Builder b) {
    this.phases = List.copyOf(b.phases);
    this.workerCounts = List.copyOf(b.workerCounts);
    this.warmupRounds = b.warmupRounds;
    this.rounds = b.rounds;
    this.combinedSparsity = b.combinedSparsity;
    this.jsonPath = b.jsonPath;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Phases in the order they are measured. */
  public List<Phase> phases() {
    return phases;
  }

  /** Workers per averaging round, in the order they are measured (each phase at each count). */
  public List<Integer> workerCounts() {
    return workerCounts;
  }

  /** Averaging rounds run before the measured ones in every case, not timed. */
  public int warmupRounds() {
    return warmupRounds;
  }

  /** Timed averaging rounds per case. */
  public int rounds() {
    return rounds;
  }

  public double combinedSparsity() {
    return combinedSparsity;
  }

  /** Where the JSON report goes (local path or Hadoop URI); null: {@code <train.output.dir>/throughput.json}. */
  public String jsonPath() {
    return jsonPath;
  }

  @Override
  public String toString() {
    List<String> p = new ArrayList<>();
    for (Phase ph : phases) {
      p.add(ph.cliName());
    }
    return String.format(Locale.ROOT, "ThroughputOptions phases=%s workers=%s warmup-rounds=%d rounds=%d "
        + "combined-sparsity=%.3f json=%s", p, workerCounts, warmupRounds, rounds, combinedSparsity, jsonPath);
  }

  /** Builder with the defaults above. */
  public static final class Builder {
    private List<Phase> phases = DEFAULT_PHASES;
    private List<Integer> workerCounts = DEFAULT_WORKER_COUNTS;
    private int warmupRounds = DEFAULT_WARMUP_ROUNDS;
    private int rounds = DEFAULT_ROUNDS;
    private double combinedSparsity = DEFAULT_COMBINED_SPARSITY;
    private String jsonPath;

    private Builder() {}

    public Builder phases(List<Phase> v) {
      phases = new ArrayList<>(Objects.requireNonNull(v, "phases"));
      return this;
    }

    public Builder workerCounts(List<Integer> v) {
      workerCounts = new ArrayList<>(Objects.requireNonNull(v, "workerCounts"));
      return this;
    }

    public Builder warmupRounds(int v) {
      warmupRounds = v;
      return this;
    }

    public Builder rounds(int v) {
      rounds = v;
      return this;
    }

    public Builder combinedSparsity(double v) {
      combinedSparsity = v;
      return this;
    }

    public Builder jsonPath(String v) {
      jsonPath = v;
      return this;
    }

    /** Checks every setting, naming the option and the bad value. */
    public ThroughputOptions build() {
      if (phases.isEmpty() || phases.size() != phases.stream().distinct().count()) {
        throw new IllegalArgumentException("--phases must list distinct phases, got " + phases);
      }
      if (workerCounts.isEmpty() || workerCounts.size() != workerCounts.stream().distinct().count()) {
        throw new IllegalArgumentException("--workers must list distinct worker counts, got " + workerCounts);
      }
      for (int w : workerCounts) {
        if (w < 1 || w > 1024) {
          throw new IllegalArgumentException("--workers: each count must be in [1, 1024], got " + w);
        }
      }
      if (warmupRounds < 0) {
        throw new IllegalArgumentException("--warmup-rounds must be >= 0, got " + warmupRounds);
      }
      if (rounds < 1) {
        throw new IllegalArgumentException("--rounds must be >= 1, got " + rounds);
      }
      if (!(combinedSparsity > 0 && combinedSparsity < 1)) {
        throw new IllegalArgumentException("--combined-sparsity must be in (0, 1), got " + combinedSparsity);
      }
      if (jsonPath != null && jsonPath.isBlank()) {
        throw new IllegalArgumentException("--json must be a path, got ''");
      }
      return new ThroughputOptions(this);
    }
  }
}
