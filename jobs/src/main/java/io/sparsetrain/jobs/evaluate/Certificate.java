package io.sparsetrain.jobs.evaluate;

import io.sparsetrain.jobs.train.model.GraphPrunableModel;
import io.sparsetrain.learn.cert.SpectralNorm;
import io.sparsetrain.nn.MaskedNetwork;
import io.sparsetrain.nn.layers.SparseLayer;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.nm.NmMagnitudePruner;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.deeplearning4j.nn.graph.ComputationGraph;

/**
 * The stability certificate of METHODS.md section 2 (the learned 2:4 mask paper, lemmas 3.1-3.5) for a whole
 * graph. It compares a reference network R with a perturbed network P that differs from R only by zeroed weights
 * in prunable layers; for layer i, D_i = W_i(P) - W_i(R) = -(1 - m_i) * W_i(R).
 *
 * <p>Per layer (only layer i masked): the class probabilities move by at most
 * B_i(x) = L_i * ||D_i|| * ||h_i(x)||, with h_i(x) the input of layer i in R (measured, so biases and BN shifts
 * before the layer are exact) and L_i the Lipschitz bound of everything after layer i ({@link GraphLipschitz}:
 * the prod_{j != i} ||W_j|| rho^d of the paper, with residual Adds summed and BN as its inference scale). For a
 * chain without biases ||h_i(x)|| &lt;= prod_{j &lt; i} ||W_j|| ||x||, so this is never looser than the paper's
 * B(x). All layers masked at once (P itself): telescoping over the prunable layers in topological order gives
 * ||p_P(x) - p_R(x)|| &lt;= sum_i L_i ||D_i|| ||h_i^P(x)|| with h_i^P the input of layer i in P. Either way the
 * prediction of R provably stays when the bound is below (p_top1 - p_top2) / sqrt(2) of R
 * ({@link io.sparsetrain.learn.cert.StabilityCertificate#certifies}).
 *
 * <p>Which perturbation: {@code masks} = the evaluated model's own masks against the weights as loaded before
 * {@code --masks} were applied (R = the dense zip, P = the evaluated model); {@code N:M} (e.g. 2:4) = magnitude N:M
 * masks on top of the evaluated model (R = evaluated, P = R with N:M masks: "what converting each layer to N:M would
 * do"); {@code auto} = {@code masks} when they remove any weight of the loaded weights, else 2:4 (a trained
 * checkpoint stores W*M, so its own masks are already applied and D would be 0). When D is 0 in every layer either
 * way (the weights already are N:M, or the masks remove nothing) the certificate is reported as unavailable with
 * the reason instead of a vacuous 100%.
 */
final class Certificate {
  private Certificate() {}

  /**
   * What the executors need per sample: layer names, the vertex feeding each, L_i and ||D_i|| (safety factor
   * included), and whether the other network is R or P.
   *
   * @param unavailable why no bound could be computed (then no sample is certified and the report says why), or null
   */
  record Plan(String mode, String description, List<String> layers, List<String> inputs, double[] suffix,
      double[] perturbation, boolean otherIsReference, String unavailable) implements Serializable {
    private static final long serialVersionUID = 1L;

    boolean active() {
      return unavailable == null && !layers.isEmpty();
    }

    static Plan none(String why) {
      return new Plan("none", why, List.of(), List.of(), new double[0], new double[0], false, why);
    }
  }

  /**
   * A prepared certificate.
   *
   * @param reference R
   * @param perturbed P
   * @param other the network that is not the evaluated one (R or P), or null when both are the evaluated one
   * @param layerMasks per layer, the mask that turns R's layer into P's (for the empirical check)
   */
  record Setup(Plan plan, ComputationGraph reference, ComputationGraph perturbed, ComputationGraph other,
      Map<String, Mask> layerMasks) {}

  /** Parses {@code auto | masks | none | N:M}. */
  static String checkOption(String option) {
    if (option.equals("auto") || option.equals("masks") || option.equals("none")) {
      return option;
    }
    int[] nm = nm(option);
    if (nm == null) {
      throw new EvaluateException("--certificate " + option + ": expected auto, masks, none or N:M (e.g. 2:4)");
    }
    return option;
  }

  private static int[] nm(String option) {
    String[] p = option.split(":");
    if (p.length != 2) {
      return null;
    }
    try {
      int n = Integer.parseInt(p[0].trim());
      int m = Integer.parseInt(p[1].trim());
      return n >= 1 && n < m ? new int[] {n, m} : null;
    } catch (NumberFormatException e) {
      return null;
    }
  }

  static Setup prepare(LoadedModel model, String option) {
    ComputationGraph e = model.evaluated();
    if (option.equals("none")) {
      return new Setup(Plan.none("turned off (--certificate none)"), e, e, null, Map.of());
    }
    if (!option.contains(":")) {
      ComputationGraph r = model.reference();
      Setup s = build(model, r, e, false, "masks",
          r == e ? "the model's own masks against its weights as loaded"
              : "the --masks masks against the model's weights before they were applied");
      if (perturbs(s.plan()) || option.equals("masks") || s.plan().unavailable() != null) {
        return nonVacuous(s);
      }
      option = "2:4";
    }
    int[] nm = nm(option);
    ComputationGraph p = withNmMasks(e, nm[0], nm[1]);
    return nonVacuous(build(model, e, p, true, option, "magnitude " + option + " masks on top of the evaluated "
        + "weights (the model's own masks are already in its weights, so they would give D = 0)"));
  }

  /**
   * {@code s}, or when nothing is perturbed (D = 0 in every layer) the same setup marked unavailable: every example
   * would be "certified", which says nothing about any mask.
   */
  private static Setup nonVacuous(Setup s) {
    Plan p = s.plan();
    if (p.unavailable() != null || perturbs(p)) {
      return s;
    }
    String why = p.mode().equals("masks")
        ? "the masks remove no weight of the loaded model (D = 0), so the bound would be vacuous; to certify masks, "
            + "evaluate the dense model with --masks FILE"
        : "the weights already satisfy " + p.mode() + " in every prunable layer (a model with its masks applied in "
            + "its weights), so D = 0 and the bound would be vacuous; to certify its masks, evaluate the dense model "
            + "with --masks FILE";
    return new Setup(new Plan(p.mode(), p.description(), p.layers(), p.inputs(), p.suffix(), p.perturbation(),
        p.otherIsReference(), why), s.reference(), s.perturbed(), s.other(), s.layerMasks());
  }

  /** Whether the plan's masks remove a weight anywhere (D != 0 in some layer). */
  private static boolean perturbs(Plan p) {
    return Arrays.stream(p.perturbation()).anyMatch(d -> d > 0);
  }

  /** A copy of {@code g} with each prunable layer's mask ANDed with its magnitude N:M mask. */
  static ComputationGraph withNmMasks(ComputationGraph g, int n, int m) {
    ComputationGraph p = g.clone();
    NmMagnitudePruner pruner = new NmMagnitudePruner(n, m);
    MaskSet.Builder b = MaskSet.builder();
    if (LoadedModel.prunable(p, null) instanceof io.sparsetrain.jobs.train.model.MaskedNetworkModel) {
      MaskedNetwork net = MaskedNetwork.of(p);
      net.unfreeze();
      MaskSet current = net.masks();
      for (PrunableLayer l : net.prunableLayers()) {
        b.put(l.name(), current.get(l.name()).and(pruner.makeMask(l)));
      }
      net.applyMasks(b.build());
    } else {
      for (PrunableLayer l : new GraphPrunableModel(p).prunableLayers()) {
        b.put(l.name(), pruner.makeMask(l));
      }
      GraphPrunableModel.applyTo(p, b.build());
    }
    return p;
  }

  private static Setup build(LoadedModel model, ComputationGraph r, ComputationGraph p, boolean otherIsPerturbed,
      String mode, String description) {
    List<String> names = new ArrayList<>();
    List<String> inputs = new ArrayList<>();
    List<Double> dn = new ArrayList<>();
    Map<String, Mask> masks = new LinkedHashMap<>();
    for (PrunableLayer l : LoadedModel.prunable(r, null).prunableLayers()) {
      GraphLipschitz.WeightMatrix wr = GraphLipschitz.weightMatrix(r.getLayer(l.name()));
      GraphLipschitz.WeightMatrix wp = GraphLipschitz.weightMatrix(p.getLayer(l.name()));
      float[] d = new float[wr.values().length];
      boolean[] keep = new boolean[d.length];
      boolean any = false;
      for (int j = 0; j < d.length; j++) {
        float a = wr.values()[j];
        float c = wp.values()[j];
        if (c != 0f && c != a) {
          throw new EvaluateException("model " + model.label() + ": layer " + l.name() + " weight " + j + " is " + c
              + " in the evaluated network and " + a + " in the reference: the certificate only covers masking");
        }
        d[j] = c - a;
        keep[j] = !(a != 0f && c == 0f);
        any |= d[j] != 0f;
      }
      names.add(l.name());
      inputs.add(r.getConfiguration().getVertexInputs().get(l.name()).get(0));
      dn.add(any ? SpectralNorm.operatorBound(wr.shape(), d) * GraphLipschitz.SAFETY : 0.0);
      masks.put(l.name(), Mask.fromKeep(wr.shape(), keep));
    }
    double[] pert = dn.stream().mapToDouble(Double::doubleValue).toArray();
    ComputationGraph other = otherIsPerturbed ? p : (r == p ? null : r);
    double[] suffix = new double[names.size()];
    String unavailable = null;
    try {
      Map<String, Double> l = new GraphLipschitz(r).suffixBounds(names);
      for (int i = 0; i < suffix.length; i++) {
        suffix[i] = l.get(names.get(i));
      }
    } catch (GraphLipschitz.Unsupported u) {
      unavailable = "no Lipschitz bound: " + u.getMessage();
    }
    if (names.isEmpty()) {
      unavailable = "the model has no prunable layer";
    }
    Plan plan = new Plan(mode, description, names, inputs, suffix, pert, !otherIsPerturbed && other != null,
        unavailable);
    return new Setup(plan, r, p, other, masks);
  }

  /** One line per layer for logs: name, ||D||, L. */
  static String describe(Plan plan) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < plan.layers().size(); i++) {
      sb.append(String.format(Locale.ROOT, "  %s: ||D|| <= %.4g, suffix Lipschitz <= %.4g%n", plan.layers().get(i),
          plan.perturbation()[i], plan.suffix()[i]));
    }
    return sb.toString();
  }

  /** True when {@code layer} is a sparse layer (for the report). */
  static boolean isSparse(ComputationGraph g, String layer) {
    return g.getLayer(layer) instanceof SparseLayer;
  }
}
