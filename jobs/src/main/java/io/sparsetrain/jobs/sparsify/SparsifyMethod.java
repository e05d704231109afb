package io.sparsetrain.jobs.sparsify;

import java.util.Arrays;
import java.util.stream.Collectors;

/** What the sparsify job computes (the {@code --method} values). */
public enum SparsifyMethod {
  /** N:M masks learned on frozen weights with Gumbel-softmax logits (METHODS.md section 2). */
  LEARNED_NM("learned-nm", true, true),
  /** Learned per-layer magnitude thresholds under an exact global rate, FCPTS (METHODS.md section 3). */
  ALLOCATION("allocation", false, true),
  /** Keep the N largest |w| of every M (NVIDIA ASP's baseline), no training. */
  MAGNITUDE_NM("magnitude-nm", true, false),
  /** The same sparsity in every layer, magnitude masks. */
  UNIFORM("uniform", false, false),
  /** Erdos-Renyi-Kernel per-layer densities, magnitude masks. */
  ERK("erk", false, false),
  /** Apply a mask file ({@code --masks}) to the model, e.g. learned masks to an updated copy. */
  APPLY("apply", false, false),
  /**
   * Structured filter pruning through batch norm (METHODS.md section 4): trains STR-BN thresholds on the driver and
   * writes a smaller dense model ({@link StrBnRun}).
   */
  STR_BN("str-bn", false, true);

  private final String cliName;
  private final boolean nm;
  private final boolean learned;

  SparsifyMethod(String cliName, boolean nm, boolean learned) {
    this.cliName = cliName;
    this.nm = nm;
    this.learned = learned;
  }

  /** The name on the command line and in sparsify.json. */
  public String cliName() {
    return cliName;
  }

  /** Whether the result is an N:M mask (then {@code --n/--m} apply and {@code --target} does not). */
  public boolean isNm() {
    return nm;
  }

  /** Whether the method trains on calibration data. */
  public boolean isLearned() {
    return learned;
  }

  /**
   * Whether the method learns masks or thresholds on calibration images through the masked network's forward
   * passes (then {@code --batch-statistics} applies).
   */
  public boolean learnsMasks() {
    return this == LEARNED_NM || this == ALLOCATION;
  }

  /** Whether the method makes the masks itself (then {@code --exclude}/{@code --exclude-first-conv} apply). */
  public boolean makesMasks() {
    return this != APPLY && this != STR_BN;
  }

  /** Whether {@code --target} is required. */
  public boolean needsTarget() {
    return this == ALLOCATION || this == UNIFORM || this == ERK;
  }

  /**
   * The method of a command-line name.
   *
   * @throws SparsifyException naming the accepted values
   */
  public static SparsifyMethod fromCli(String name) {
    for (SparsifyMethod m : values()) {
      if (m.cliName.equals(name)) {
        return m;
      }
    }
    throw new SparsifyException("unknown --method '" + name + "'; expected one of " + names());
  }

  static String names() {
    return Arrays.stream(values()).map(SparsifyMethod::cliName).collect(Collectors.joining(", "));
  }

  @Override
  public String toString() {
    return cliName;
  }
}
