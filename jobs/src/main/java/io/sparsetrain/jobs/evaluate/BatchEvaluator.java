package io.sparsetrain.jobs.evaluate;

import io.sparsetrain.learn.cert.StabilityCertificate;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Evaluates minibatches of one model: clean top-1/top-k and per-class hits, FGSM hits per epsilon
 * (x_adv = clip(x + eps * sign(d loss / d x), lo, hi), METHODS.md section 1, the gradient from
 * {@link InputGradients}), and the certificate per example ({@link Certificate}). Runs on executors (one per
 * partition) and on the driver alike. Not thread-safe.
 */
final class BatchEvaluator {
  private final ComputationGraph evaluated;
  private final ComputationGraph other;
  private final Certificate.Plan plan;
  private final EvalSpec spec;
  private InputGradients gradients;

  /**
   * @param other the certificate's other network (R or P, see {@link Certificate.Plan#otherIsReference()}), or null
   *     when the evaluated network is both
   */
  BatchEvaluator(ComputationGraph evaluated, ComputationGraph other, Certificate.Plan plan, EvalSpec spec) {
    this.evaluated = evaluated;
    this.other = other;
    this.plan = plan;
    this.spec = spec;
  }

  EvalCounts evaluate(DataSet ds) {
    long t0 = System.nanoTime();
    INDArray x = ds.getFeatures();
    INDArray y = ds.getLabels();
    int n = (int) x.size(0);
    int[] labels = Nd4j.argMax(y, 1).toIntVector();
    EvalCounts c = new EvalCounts(spec.classes(), spec.eps().length, plan.layers().size());
    c.examples = n;
    // with the certificate on, one inference pass gives both the clean probabilities and the layer inputs
    Map<String, INDArray> acts = plan.active() ? evaluated.feedForward(new INDArray[] {x}, false, false) : null;
    INDArray probs = acts != null ? acts.get(evaluated.getConfiguration().getNetworkOutputs().get(0)).dup()
        : evaluated.outputSingle(false, x).dup();
    int[] pred = Nd4j.argMax(probs, 1).toIntVector();
    float[][] p = probs.toFloatMatrix();
    for (int i = 0; i < n; i++) {
      int l = labels[i];
      c.classTotal[l]++;
      if (pred[i] == l) {
        c.top1++;
        c.classCorrect[l]++;
      }
      int greater = 0;
      for (int k = 0; k < p[i].length; k++) {
        greater += p[i][k] > p[i][l] ? 1 : 0;
      }
      if (greater < spec.topK()) {
        c.topK++;
      }
    }
    if (spec.eps().length > 0) {
      if (gradients == null) {
        gradients = InputGradients.of(evaluated, x);
      }
      INDArray sign = Transforms.sign(gradients.gradient(x, y));
      for (int e = 0; e < spec.eps().length; e++) {
        INDArray adv = x.add(sign.mul(spec.scaled(e)));
        adv = Transforms.min(Transforms.max(adv, spec.lo(), false), spec.hi(), false);
        int[] ap = Nd4j.argMax(evaluated.outputSingle(false, adv), 1).toIntVector();
        for (int i = 0; i < n; i++) {
          c.fgsmCorrect[e] += ap[i] == labels[i] ? 1 : 0;
        }
      }
    }
    if (plan.active()) {
      certify(x, acts, c);
    }
    c.seconds = (System.nanoTime() - t0) / 1e9;
    return c;
  }

  /** Per-example certificate counts; see {@link Certificate}. */
  private void certify(INDArray x, Map<String, INDArray> acts, EvalCounts c) {
    boolean[][] perLayer = certifiedPerExample(x, acts);
    for (int i = 0; i < perLayer.length - 1; i++) {
      for (boolean b : perLayer[i]) {
        c.certifiedPerLayer[i] += b ? 1 : 0;
      }
    }
    for (boolean b : perLayer[perLayer.length - 1]) {
      c.certifiedAll += b ? 1 : 0;
    }
  }

  /**
   * [layer][example] certified for each layer alone, then one last row for all layers at once; the reference
   * network's top-1 / top-2 probabilities set the margin.
   */
  boolean[][] certifiedPerExample(INDArray x) {
    return certifiedPerExample(x, evaluated.feedForward(new INDArray[] {x}, false, false));
  }

  private boolean[][] certifiedPerExample(INDArray x, Map<String, INDArray> self) {
    int n = (int) x.size(0);
    Map<String, INDArray> oth = other == null ? self : other.feedForward(new INDArray[] {x}, false, false);
    Map<String, INDArray> ref = plan.otherIsReference() ? oth : self;
    Map<String, INDArray> pert = plan.otherIsReference() ? self : oth;
    ComputationGraph refNet = plan.otherIsReference() ? other : evaluated;
    String out = refNet.getConfiguration().getNetworkOutputs().get(0);
    float[][] p = ref.get(out).toFloatMatrix();
    List<String> layers = plan.layers();
    double[][] refNorm = new double[layers.size()][];
    double[][] pertNorm = new double[layers.size()][];
    for (int i = 0; i < layers.size(); i++) {
      refNorm[i] = rowNorms(activation(ref, plan.inputs().get(i), x), n);
      pertNorm[i] = rowNorms(activation(pert, plan.inputs().get(i), x), n);
    }
    boolean[][] certified = new boolean[layers.size() + 1][n];
    for (int e = 0; e < n; e++) {
      double top1 = Double.NEGATIVE_INFINITY;
      double top2 = Double.NEGATIVE_INFINITY;
      for (float v : p[e]) {
        if (v > top1) {
          top2 = top1;
          top1 = v;
        } else if (v > top2) {
          top2 = v;
        }
      }
      double sum = 0;
      for (int i = 0; i < layers.size(); i++) {
        double f = plan.suffix()[i] * plan.perturbation()[i];
        certified[i][e] = StabilityCertificate.certifies(f * refNorm[i][e], top1, top2);
        sum += f * pertNorm[i][e];
      }
      certified[layers.size()][e] = StabilityCertificate.certifies(sum, top1, top2);
    }
    return certified;
  }

  private INDArray activation(Map<String, INDArray> acts, String vertex, INDArray x) {
    if (evaluated.getConfiguration().getNetworkInputs().contains(vertex)) {
      return x;
    }
    INDArray a = acts.get(vertex);
    if (a == null) {
      throw new IllegalStateException("no activation of vertex " + vertex + " in the forward pass");
    }
    return a;
  }

  private static double[] rowNorms(INDArray a, int n) {
    INDArray flat = a.dup('c').reshape('c', n, a.length() / n);
    return flat.norm2(1).toDoubleVector();
  }
}
