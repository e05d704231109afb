package io.sparsetrain.jobs.evaluate;

import io.sparsetrain.jobs.train.model.GraphPrunableModel;
import io.sparsetrain.learn.cert.SpectralNorm;
import io.sparsetrain.learn.cert.StabilityCertificate;
import io.sparsetrain.nn.layers.SparseLayer;
import io.sparsetrain.prune.LayerShape;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.PreprocessorVertex;
import org.deeplearning4j.nn.conf.graph.ReshapeVertex;
import org.deeplearning4j.nn.conf.graph.ScaleVertex;
import org.deeplearning4j.nn.conf.graph.ShiftVertex;
import org.deeplearning4j.nn.conf.graph.SubsetVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationELU;
import org.nd4j.linalg.activations.impl.ActivationHardSigmoid;
import org.nd4j.linalg.activations.impl.ActivationHardTanH;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU6;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftPlus;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.activations.impl.ActivationTanH;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Upper bounds on how far a perturbation of one layer's output can move a graph's class probabilities: the
 * "prod_{j != i} ||W_j||" and "rho^d" part of the stability certificate (METHODS.md section 2), generalised from a
 * chain to a DL4J ComputationGraph by propagating Lipschitz constants in topological order:
 * <ul>
 *   <li>convolution / dense / output layer: {@link SpectralNorm#operatorBound} of W (sqrt(kh*kw) ||W||_2 for a
 *       convolution) times the activation's Lipschitz constant (ReLU 1, tanh 1, sigmoid 1/4, softmax 1);</li>
 *   <li>batch normalization, in inference form y = scale[c] x + shift[c]: max_c |scale[c]| (shift cancels);</li>
 *   <li>max/average pooling with a k x k window and stride s: sqrt(ceil(k/s)^2) (each input is in that many
 *       windows); global max/average pooling: 1; dropout, reshapes and flattening: 1;</li>
 *   <li>residual Add/Subtract: the sum of the branches' bounds, Average: the mean, Max and concatenation:
 *       sqrt of the sum of squares; a branch that does not depend on the perturbed layer contributes 0.</li>
 * </ul>
 * Every estimated norm is multiplied by {@link StabilityCertificate#DEFAULT_NORM_SAFETY}. Biases cancel in the
 * difference. A vertex or layer type without a rule here makes the bound unavailable ({@link Unsupported}) rather
 * than wrong. The bound is loose for residual and BN networks: the Add rule sums the identity and the block, and
 * products of per-layer norms ignore how layers align.
 */
final class GraphLipschitz {
  static final double SAFETY = StabilityCertificate.DEFAULT_NORM_SAFETY;

  private final ComputationGraph graph;
  private final ComputationGraphConfiguration conf;
  private final List<String> order;
  private final Map<String, Double> own = new HashMap<>();

  /** A graph element the bound has no rule for. */
  static final class Unsupported extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Unsupported(String message) {
      super(message);
    }
  }

  GraphLipschitz(ComputationGraph graph) {
    this.graph = graph;
    this.conf = graph.getConfiguration();
    this.order = new java.util.ArrayList<>();
    org.deeplearning4j.nn.graph.vertex.GraphVertex[] vs = graph.getVertices();
    for (int idx : graph.topologicalSortOrder()) {
      order.add(vs[idx].getVertexName());
    }
    if (conf.getNetworkOutputs().size() != 1) {
      throw new Unsupported("the bound needs one network output, got " + conf.getNetworkOutputs());
    }
  }

  /**
   * For each named layer: a bound L with ||p(x; layer output z + delta) - p(x)|| &lt;= L ||delta|| for the
   * class probabilities p, delta added to the layer's pre-activation output (its activation included in L).
   *
   * @throws Unsupported naming the first vertex without a rule
   */
  Map<String, Double> suffixBounds(List<String> layers) {
    Map<String, Double> out = new LinkedHashMap<>();
    String output = conf.getNetworkOutputs().get(0);
    for (String name : layers) {
      Map<String, Double> lip = new HashMap<>();
      boolean started = false;
      for (String v : order) {
        if (v.equals(name)) {
          lip.put(v, activationLipschitz(graph.getLayer(v), v));
          started = true;
          continue;
        }
        if (!started || conf.getNetworkInputs().contains(v)) {
          continue;
        }
        List<String> in = conf.getVertexInputs().get(v);
        double[] li = new double[in.size()];
        boolean depends = false;
        for (int k = 0; k < li.length; k++) {
          li[k] = lip.getOrDefault(in.get(k), 0.0);
          depends |= li[k] > 0;
        }
        if (depends) {
          lip.put(v, combine(v, li));
        }
      }
      out.put(name, lip.getOrDefault(output, 0.0));
    }
    return out;
  }

  private double combine(String v, double[] li) {
    GraphVertex gv = conf.getVertices().get(v);
    if (gv instanceof LayerVertex lv) {
      preprocessor(v, lv.getPreProcessor());
      return ownLipschitz(v) * li[0];
    }
    if (gv instanceof ElementWiseVertex ew) {
      double sum = 0;
      double sq = 0;
      for (double l : li) {
        sum += l;
        sq += l * l;
      }
      return switch (ew.getOp()) {
        case Add, Subtract -> sum;
        case Average -> sum / li.length;
        case Max -> Math.sqrt(sq);
        default -> throw new Unsupported("vertex " + v + ": element-wise " + ew.getOp() + " has no Lipschitz rule");
      };
    }
    if (gv instanceof MergeVertex) {
      double sq = 0;
      for (double l : li) {
        sq += l * l;
      }
      return Math.sqrt(sq);
    }
    if (gv instanceof PreprocessorVertex pv) {
      preprocessor(v, pv.getPreProcessor());
      return li[0];
    }
    if (gv instanceof ReshapeVertex || gv instanceof SubsetVertex || gv instanceof ShiftVertex) {
      return li[0];
    }
    if (gv instanceof ScaleVertex sv) {
      return Math.abs(sv.getScaleFactor()) * li[0];
    }
    throw new Unsupported("vertex " + v + " (" + gv.getClass().getSimpleName() + ") has no Lipschitz rule");
  }

  private static void preprocessor(String v, InputPreProcessor p) {
    if (p != null && !(p instanceof CnnToFeedForwardPreProcessor) && !(p instanceof FeedForwardToCnnPreProcessor)) {
      throw new Unsupported("vertex " + v + ": input preprocessor " + p.getClass().getSimpleName()
          + " has no Lipschitz rule");
    }
  }

  /** The Lipschitz bound of one layer vertex as a map of its input (weights, BN scale, pooling), cached. */
  double ownLipschitz(String v) {
    Double cached = own.get(v);
    if (cached != null) {
      return cached;
    }
    Layer layer = graph.getLayer(v);
    org.deeplearning4j.nn.conf.layers.Layer lc = layer.conf().getLayer();
    double l;
    if (lc instanceof BatchNormalization bn) {
      float[] scale = bnScale(layer, (int) bn.getNOut());
      double m = 0;
      for (float s : scale) {
        m = Math.max(m, Math.abs(s));
      }
      l = m * (1 + 1e-6); // float rounding of the probe
    } else if (lc instanceof ActivationLayer || lc instanceof LossLayer) {
      l = activationLipschitz(layer, v);
    } else if (lc instanceof DropoutLayer) {
      l = 1;
    } else if (lc instanceof SubsamplingLayer s) {
      int[] k = s.getKernelSize();
      int[] st = s.getStride();
      double windows = Math.ceil(k[0] / (double) st[0]) * Math.ceil(k[1] / (double) st[1]);
      if (s.getPoolingType() == PoolingType.MAX || s.getPoolingType() == PoolingType.AVG) {
        l = Math.sqrt(windows);
      } else if (s.getPoolingType() == PoolingType.SUM) {
        l = Math.sqrt(windows * k[0] * k[1]);
      } else {
        throw new Unsupported("layer " + v + ": " + s.getPoolingType() + " pooling has no Lipschitz rule");
      }
    } else if (lc instanceof GlobalPoolingLayer gp) {
      if (gp.getPoolingType() != PoolingType.MAX && gp.getPoolingType() != PoolingType.AVG) {
        throw new Unsupported("layer " + v + ": global " + gp.getPoolingType() + " pooling has no Lipschitz rule");
      }
      l = 1;
    } else {
      WeightMatrix w = weightMatrix(layer);
      if (w == null) {
        throw new Unsupported("layer " + v + " (" + lc.getClass().getSimpleName() + ") has no Lipschitz rule");
      }
      l = SpectralNorm.operatorBound(w.shape(), w.values()) * SAFETY * activationLipschitz(layer, v);
    }
    own.put(v, l);
    return l;
  }

  /** A layer's weights in the pruning (GEMM) view. */
  record WeightMatrix(LayerShape shape, float[] values) {}

  /** W of a sparse or stock conv / dense / output layer (W*M for sparse layers), or null for other layers. */
  static WeightMatrix weightMatrix(Layer layer) {
    if (layer instanceof SparseLayer s) {
      return new WeightMatrix(s.maskShape(), s.weights());
    }
    LayerShape shape = GraphPrunableModel.shapeOf(layer);
    if (shape == null) {
      return null;
    }
    INDArray w = layer.getParam("W");
    return new WeightMatrix(shape, w.dup('c').data().asFloat());
  }

  /** Per-channel inference scale of a batch normalization layer. */
  static float[] bnScale(Layer bn, int channels) {
    try {
      return InputGradients.inferenceAffine(bn, channels, 4)[0];
    } catch (RuntimeException e) {
      return InputGradients.inferenceAffine(bn, channels, 2)[0];
    }
  }

  static double activationLipschitz(Layer layer, String v) {
    org.deeplearning4j.nn.conf.layers.Layer lc = layer.conf().getLayer();
    IActivation a;
    if (lc instanceof BaseLayer b) {
      a = b.getActivationFn();
    } else if (lc instanceof ActivationLayer al) {
      a = al.getActivationFn();
    } else if (lc instanceof LossLayer ll) {
      a = ll.getActivationFn();
    } else {
      throw new Unsupported("layer " + v + " (" + lc.getClass().getSimpleName() + ") has no activation rule");
    }
    if (a == null || a instanceof ActivationIdentity || a instanceof ActivationTanH || a instanceof ActivationReLU6
        || a instanceof ActivationHardTanH || a instanceof ActivationSoftPlus || a instanceof ActivationSoftmax) {
      return 1; // softmax is 1-Lipschitz in the 2-norm (the paper's lemma)
    }
    if (a instanceof ActivationReLU r) {
      Double slope = r.getNegativeSlope();
      return Math.max(1, slope == null ? 0 : Math.abs(slope));
    }
    if (a instanceof ActivationLReLU r) {
      return Math.max(1, Math.abs(r.getAlpha()));
    }
    if (a instanceof ActivationELU e) {
      return Math.max(1, Math.abs(e.getAlpha()));
    }
    if (a instanceof ActivationSigmoid) {
      return 0.25;
    }
    if (a instanceof ActivationHardSigmoid) {
      return 0.2;
    }
    throw new Unsupported("layer " + v + ": activation " + a + " has no Lipschitz rule");
  }
}
