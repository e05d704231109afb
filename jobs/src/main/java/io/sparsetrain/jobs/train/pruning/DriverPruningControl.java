package io.sparsetrain.jobs.train.pruning;

import io.sparsetrain.jobs.train.config.TrainConfig;
import io.sparsetrain.jobs.train.model.PrunableModel;
import io.sparsetrain.jobs.train.spark.WorkerMasks;
import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.MaskMaker;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.global.GlobalPruningResult;
import io.sparsetrain.prune.global.GlobalSparsityController;
import io.sparsetrain.prune.global.LayerSparsity;
import io.sparsetrain.prune.method.CombinedPruner;
import io.sparsetrain.prune.method.FcPruner;
import io.sparsetrain.prune.method.KernelPruner;
import io.sparsetrain.prune.method.MagnitudePruner;
import io.sparsetrain.prune.method.WindowPruner;
import io.sparsetrain.prune.nm.NmMagnitudePruner;
import io.sparsetrain.prune.schedule.CubicSparsitySchedule;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The driver owns the masks (METHODS.md section 5). After every averaging round ({@link #afterRound}) it reads the
 * averaged parameters and, during the pruning era, recomputes the masks with the configured pattern at the
 * schedule's sparsity for that step, enforcing the global target exactly ({@link GlobalSparsityController}), and
 * writes them into the network; the next round broadcasts network and {@link #workerMasks masks}. After the era's
 * last step the masks are frozen for the rest of training.
 *
 * <p>One schedule step is one averaging round: {@code stepsPerEpoch} = rounds per epoch. For N:M the sparsity is
 * fixed by structure, so the target during the era is max(schedule, N:M share).
 */
public final class DriverPruningControl {
  private final TrainConfig config;
  private final CubicSparsitySchedule schedule;
  private final GlobalSparsityController controller;

  /** What happened after one round. */
  public record RoundOutcome(long step, double scheduledSparsity, double achievedSparsity, boolean maskChanged,
      boolean frozeNow, boolean frozen) {}

  public DriverPruningControl(TrainConfig config, long roundsPerEpoch) {
    this(config, roundsPerEpoch, true);
  }

  /**
   * @param classifierPrunable false when the network's classifier is not among the prunable layers (a stock
   *     OutputLayer on a sparse network): then {@code exclude-classifier} must not exclude the last hidden dense
   *     layer instead
   */
  public DriverPruningControl(TrainConfig config, long roundsPerEpoch, boolean classifierPrunable) {
    this.config = config;
    this.schedule = CubicSparsitySchedule.builder().startEpoch(config.startEpoch())
        .lengthEpochs(Math.max(1, config.lengthEpochs())).stepsPerEpoch(roundsPerEpoch)
        .exponent(config.exponent()).initialSparsity(config.initialSparsity())
        .finalSparsity(config.finalSparsity()).build();
    this.controller = buildController(config, classifierPrunable);
  }

  /** The mask makers of the configured pattern (1x1 convolutions always use plain magnitude pruning). */
  static GlobalSparsityController buildController(TrainConfig c, boolean classifierPrunable) {
    MaskMaker conv;
    switch (c.pattern()) {
      case WINDOW:
        conv = new WindowPruner();
        break;
      case CK:
        conv = new KernelPruner();
        break;
      case COMBINED:
        conv = new CombinedPruner(c.windowFraction());
        break;
      case NM:
        conv = new NmMagnitudePruner(c.n(), c.m());
        break;
      default:
        conv = new MagnitudePruner();
        break;
    }
    MaskMaker dense = "block".equals(c.fcMethod()) ? new FcPruner(c.fcBlockSize(), c.fcBlockFraction())
        : new MagnitudePruner();
    GlobalSparsityController.Builder b = GlobalSparsityController.builder().convMethod(conv).denseMethod(dense)
        .excludeFirstConv(c.excludeFirstConv()).excludeClassifier(c.excludeClassifier() && classifierPrunable);
    for (String ex : c.exclude()) {
      b.exclude(ex);
    }
    return b.build();
  }

  public CubicSparsitySchedule schedule() {
    return schedule;
  }

  public GlobalSparsityController controller() {
    return controller;
  }

  /** Global sparsity the schedule asks for after round {@code step} (0 when pruning is off). */
  public double scheduledSparsity(long step) {
    return config.pruningEnabled() ? schedule.sparsityAt(step) : 0.0;
  }

  /** Fraction of prunable weights an N:M pattern zeroes by structure (0 for other patterns). */
  double fixedShare(List<PrunableLayer> layers) {
    Set<String> excluded = controller.excludedLayers(layers);
    long total = 0;
    long fixed = 0;
    for (PrunableLayer l : layers) {
      if (excluded.contains(l.name())) {
        continue;
      }
      total += l.size();
      OptionalInt f = controller.methodFor(l).fixedZeros(l.shape());
      if (f.isPresent()) {
        fixed += f.getAsInt();
      }
    }
    return total == 0 ? 0 : fixed / (double) total;
  }

  /**
   * Called on the driver after the averaging round {@code step} (0-based, global) with the averaged network.
   * Re-masks the averaged parameters; during the era recomputes the masks; at the era's end freezes them.
   */
  public RoundOutcome afterRound(PrunableModel model, long step) {
    if (!config.pruningEnabled() || schedule.isDense(step)) {
      return new RoundOutcome(step, 0.0, 0.0, false, false, false);
    }
    if (model.isFrozen() || schedule.isFrozen(step)) {
      model.applyMasks(model.masks()); // averaging keeps zeros, this only guards against drift
      if (!model.isFrozen()) {
        model.freeze();
      }
      return new RoundOutcome(step, schedule.sparsityAt(step), globalSparsity(model), false, false, true);
    }
    double target = schedule.sparsityAt(step);
    List<PrunableLayer> layers = model.prunableLayers();
    target = Math.max(target, fixedShare(layers));
    GlobalPruningResult r = controller.computeMasks(layers, target);
    MaskSet before = model.masks();
    model.applyMasks(r.masks());
    boolean freeze = step >= schedule.endStep();
    if (freeze) {
      model.freeze();
    }
    return new RoundOutcome(step, target, r.globalSparsity(), !r.masks().equals(before), freeze, freeze);
  }

  /** What workers must enforce in the next round. */
  public WorkerMasks workerMasks(PrunableModel model, long step) {
    return model.masksInParameters() ? WorkerMasks.checksumsOf(model.masks(), step, model.isFrozen())
        : WorkerMasks.of(model.masks(), step, model.isFrozen());
  }

  /** Zeros over prunable (non-excluded) weights of the current masks. */
  public double globalSparsity(PrunableModel model) {
    MaskSet m = model.masks();
    if (m.size() == 0) {
      return 0.0;
    }
    List<PrunableLayer> layers = model.prunableLayers();
    Set<String> excluded = controller.excludedLayers(layers);
    long total = 0;
    long zeros = 0;
    for (PrunableLayer l : layers) {
      if (excluded.contains(l.name())) {
        continue;
      }
      total += l.size();
      if (m.contains(l.name())) {
        zeros += m.get(l.name()).zeroCount();
      }
    }
    return total == 0 ? 0 : zeros / (double) total;
  }

  /** Per-layer fraction of zero weights in the network's current parameters (all candidate layers). */
  public static Map<String, Double> layerSparsity(PrunableModel model) {
    Map<String, Double> out = new LinkedHashMap<>();
    for (PrunableLayer l : model.prunableLayers()) {
      int z = 0;
      for (float w : l.weights()) {
        if (w == 0f) {
          z++;
        }
      }
      out.put(l.name(), z / (double) l.size());
    }
    return out;
  }

  /** Shape summary for logs. */
  public static String describe(List<PrunableLayer> layers) {
    StringBuilder sb = new StringBuilder();
    for (PrunableLayer l : layers) {
      LayerShape s = l.shape();
      sb.append(l.name()).append(' ').append(s).append("; ");
    }
    return sb.toString();
  }

  /** Per-layer sparsity table of a result (unused layers omitted). */
  public static Map<String, Double> layerTable(GlobalPruningResult r) {
    Map<String, Double> out = new LinkedHashMap<>();
    for (LayerSparsity l : r.layers()) {
      out.put(l.name(), l.sparsity());
    }
    return out;
  }
}
