package io.sparsetrain.jobs.evaluate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.jobs.train.model.GraphPrunableModel;
import io.sparsetrain.nn.MaskedNetwork;
import io.sparsetrain.nn.convert.SparseConversion;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The certificate's bound is a real upper bound on a residual network with both batch normalizations: for every
 * example, masking one layer (and all layers at once) moves the class probabilities by no more than the bound the
 * job computes, and certified examples keep their prediction. Masks are random and remove a given fraction of
 * each layer's weights; the perturbed networks are built independently ({@link MaskedNetwork#applyMasks}, or
 * {@link GraphPrunableModel#applyTo} for the same network converted to stock DL4J layers).
 */
class CertificateTest {

  @ParameterizedTest
  @CsvSource({"0.0, false", "0.3, false", "0.7, false", "0.0, true", "0.5, true"})
  void boundHoldsForEveryExampleAndCertifiedPredictionsStay(double removed, boolean stock) {
    ComputationGraph dense = EvalNets.residualBn(10, 6, 5);
    if (stock) {
      dense = SparseConversion.toStock(dense); // DL4J conv / BN / dense layers; the classifier is prunable too
    }
    ComputationGraph masked = dense.clone();
    MaskSet.Builder b = MaskSet.builder();
    Random r = new Random(17);
    List<PrunableLayer> layers = stock ? new GraphPrunableModel(masked).prunableLayers()
        : MaskedNetwork.of(masked).prunableLayers();
    for (PrunableLayer l : layers) {
      boolean[] keep = new boolean[l.size()];
      float[] w = l.weights();
      for (int j = 0; j < keep.length; j++) {
        // removed = 0: only the fc1 weights below 1% of its largest |w| (a perturbation small enough to certify)
        keep[j] = removed > 0 ? r.nextDouble() >= removed : !(l.name().equals("fc1") && Math.abs(w[j]) < 0.01 * max(w));
      }
      b.put(l.name(), Mask.fromKeep(l.shape(), keep));
    }
    MaskSet masks = b.build();
    if (stock) {
      GraphPrunableModel.applyTo(masked, masks);
    } else {
      MaskedNetwork.of(masked).applyMasks(masks);
    }
    LoadedModel model = new LoadedModel("m", new ModelSource(ModelSource.Kind.MODEL, "m", "mem", "mem"), null, null,
        masked, dense, masks, null);
    Certificate.Setup setup = Certificate.prepare(model, "auto");
    Certificate.Plan plan = setup.plan();
    assertEquals("masks", plan.mode());
    assertEquals(stock ? List.of("conv1", "conv2", "fc1", "output") : List.of("conv1", "conv2", "fc1"), plan.layers());
    INDArray x = EvalNets.images(64, 10, 23);
    EvalSpec spec = new EvalSpec(6, 5, new double[0], 0, 1);
    boolean[][] certified = new BatchEvaluator(masked, dense, plan, spec).certifiedPerExample(x);

    INDArray pRef = dense.outputSingle(false, x);
    int[] ref = Nd4j.argMax(pRef, 1).toIntVector();
    java.util.Map<String, INDArray> refActs = dense.feedForward(new INDArray[] {x}, false, false);
    java.util.Map<String, INDArray> pertActs = masked.feedForward(new INDArray[] {x}, false, false);
    double overallSlack = Double.POSITIVE_INFINITY;
    double[] sum = new double[64];
    int certifiedCount = 0;
    for (int i = 0; i < plan.layers().size(); i++) {
      String layer = plan.layers().get(i);
      ComputationGraph one = EvaluateJob.withLayerMask(dense, layer, masks.get(layer));
      INDArray p = one.outputSingle(false, x);
      int[] pred = Nd4j.argMax(p, 1).toIntVector();
      double[] moved = p.sub(pRef).norm2(1).toDoubleVector();
      double[] hRef = norms(act(refActs, plan.inputs().get(i), x));
      double[] hPert = norms(act(pertActs, plan.inputs().get(i), x));
      for (int e = 0; e < 64; e++) {
        double bound = plan.suffix()[i] * plan.perturbation()[i] * hRef[e];
        assertTrue(moved[e] <= bound + 1e-6, layer + " example " + e + ": moved " + moved[e] + " > bound " + bound);
        sum[e] += plan.suffix()[i] * plan.perturbation()[i] * hPert[e];
        if (certified[i][e]) {
          certifiedCount++;
          assertEquals(ref[e], pred[e], layer + " example " + e + " is certified but its prediction changed");
        }
      }
    }
    double[] movedAll = masked.outputSingle(false, x).sub(pRef).norm2(1).toDoubleVector();
    int[] predAll = Nd4j.argMax(masked.outputSingle(false, x), 1).toIntVector();
    for (int e = 0; e < 64; e++) {
      assertTrue(movedAll[e] <= sum[e] + 1e-6, "all layers, example " + e + ": moved " + movedAll[e] + " > " + sum[e]);
      overallSlack = Math.min(overallSlack, sum[e] / Math.max(movedAll[e], 1e-12));
      if (certified[plan.layers().size()][e]) {
        assertEquals(ref[e], predAll[e], "example " + e + " is certified for all layers but changed");
      }
    }
    if (removed == 0) {
      assertTrue(certifiedCount > 0, "removing tiny fc1 weights must certify some examples");
      assertTrue(masks.get("fc1").zeroCount() > 0);
    }
    assertTrue(overallSlack >= 1, "bound / movement = " + overallSlack);
  }

  /**
   * A model whose masks are already in its weights (a trained or sparsified zip) has nothing left to perturb: auto
   * falls back to 2:4 on top, and when the weights already are 2:4 that gives D = 0 in every layer. The certificate
   * must then say it is unavailable and why, not certify every example; the dense model still gets a real plan.
   */
  @org.junit.jupiter.api.Test
  void alreadyMaskedWeightsGiveNoVacuousCertificate() {
    ComputationGraph dense = EvalNets.residualBn(10, 6, 5);
    LoadedModel plain = new LoadedModel("dense", new ModelSource(ModelSource.Kind.MODEL, "dense", "mem", "mem"), null,
        null, dense, dense, null, null);
    Certificate.Plan densePlan = Certificate.prepare(plain, "auto").plan();
    assertEquals("2:4", densePlan.mode());
    assertEquals(null, densePlan.unavailable());
    assertTrue(java.util.Arrays.stream(densePlan.perturbation()).allMatch(d -> d > 0), "2:4 removes weights of every layer");

    ComputationGraph nm = Certificate.withNmMasks(dense, 2, 4); // weights are W*M: D = 0 for 2:4 on top
    LoadedModel sparse = new LoadedModel("nm", new ModelSource(ModelSource.Kind.MODEL, "nm", "mem", "mem"), null,
        null, nm, nm, null, null);
    for (String option : new String[] {"auto", "2:4", "masks"}) {
      Certificate.Plan plan = Certificate.prepare(sparse, option).plan();
      assertTrue(plan.unavailable() != null && plan.unavailable().contains("--masks"),
          option + ": " + plan.unavailable());
      assertTrue(!plan.active(), option);
      INDArray labels = EvalNets.oneHot(new int[] {0, 1, 2, 3, 4, 5, 0, 1}, 6);
      EvalCounts c = new BatchEvaluator(nm, null, plan, new EvalSpec(6, 5, new double[0], 0, 1))
          .evaluate(new org.nd4j.linalg.dataset.DataSet(EvalNets.images(8, 10, 23), labels));
      assertEquals(8, c.examples);
      assertEquals(0, c.certifiedAll, option + ": an unavailable certificate certifies no example");
    }
  }

  private static float max(float[] w) {
    float m = 0;
    for (float v : w) {
      m = Math.max(m, Math.abs(v));
    }
    return m;
  }

  private static INDArray act(java.util.Map<String, INDArray> acts, String v, INDArray x) {
    return v.equals("input") ? x : acts.get(v);
  }

  private static double[] norms(INDArray a) {
    long n = a.size(0);
    return a.dup('c').reshape('c', n, a.length() / n).norm2(1).toDoubleVector();
  }
}
