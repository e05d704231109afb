package io.sparsetrain.jobs.sparsify;

import io.sparsetrain.learn.alloc.ThresholdAllocator;
import io.sparsetrain.learn.nm.TemperatureSchedule;
import io.sparsetrain.nn.layers.MaskLearningGraphs;
import io.sparsetrain.nn.layers.MaskLearningLayer;
import io.sparsetrain.prune.PrunableLayer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * The loss and gradient of one minibatch step, run on the workers against their copy of the learning graph.
 *
 * <ul>
 *   <li>learned-nm: the classifier's cross-entropy with the labels (METHODS.md section 2); the gradient is the
 *       logits' (DL4J's minibatch sum divided by the batch size). With {@code --distill}: KL(softmax(Y_dense) ||
 *       softmax(Y_sparse)) instead, the dense outputs from a copy of the original model in inference mode (its
 *       running batch-norm statistics), the labels unused.</li>
 *   <li>allocation: L = KL(softmax(Y_dense) || softmax(Y_sparse)) + controlWeight * lambda_0 * L_c (METHODS.md
 *       section 3; lambda_0 = {@link #controlScale}, calibrated by the driver so that L_c can balance L_rec).
 *       The dense outputs come from the same graph with every threshold at 0 (the mask then keeps every non-zero
 *       weight, i.e. the dense model); the labels are not used. With a softmax / MCXENT classifier, DL4J's
 *       cross-entropy against the soft targets p has the KL gradient q - p; KL = CE - H(p). The threshold
 *       gradient goes through the mask with the layers' straight-through estimator and is converted to the
 *       allocator's normalised units (times the layer's weight RMS); L_c and its gradient come from
 *       {@link ThresholdAllocator}. With {@code --adjust-weights} the vector continues with the weights of every
 *       learning layer (storage order, layer after layer), their gradient is dL/dW at the kept positions, and the
 *       dense outputs come from a separate copy of the original model (the adjusted weights are not the
 *       teacher).</li>
 * </ul>
 */
final class WorkerObjective implements Serializable {
  private static final long serialVersionUID = 1L;

  final SparsifyMethod method;
  final double tau0;
  final double tau1;
  final SparsifyOptions.Anneal anneal;
  final long totalSteps;
  final double target;
  final double allocationLearningRate;
  final double controlWeight;
  final long seed;
  final boolean adjustWeights;
  final boolean distill;
  /** Where the thresholds start (set by the driver's calibration, see {@code SparsifyJob}). */
  ThresholdAllocator.Init init = ThresholdAllocator.Init.UNIFORM;
  /**
   * The scale lambda_0 of the control loss, L = L_rec + controlWeight * lambda_0 * L_c: the reconstruction
   * gradient's typical "price" |dL_rec/dt_l| / |dL_c/dt_l| at the start (1 = the paper's plain sum).
   */
  double controlScale = 1.0;

  WorkerObjective(SparsifyOptions o, long totalSteps) {
    this.method = o.method();
    this.tau0 = o.tau();
    this.tau1 = o.tauFinal();
    this.anneal = o.anneal();
    this.totalSteps = totalSteps;
    this.target = o.target();
    this.allocationLearningRate = o.learningRate();
    this.controlWeight = o.controlWeight();
    this.seed = o.seed();
    this.adjustWeights = o.adjustWeights();
    this.distill = o.distill(); // learned-nm here: str-bn does not train through WorkerObjective
  }

  TemperatureSchedule temperature() {
    switch (anneal) {
      case LINEAR:
        return TemperatureSchedule.linear(tau0, tau1, Math.max(1, totalSteps));
      case EXPONENTIAL:
        return TemperatureSchedule.exponential(tau0, tau1, Math.max(1, totalSteps));
      default:
        return TemperatureSchedule.constant(tau0);
    }
  }

  /** The allocator whose bridges, control loss and exact correction the driver and the workers share. */
  ThresholdAllocator allocator(ComputationGraph g) {
    List<PrunableLayer> layers = new ArrayList<>();
    for (MaskLearningLayer l : MaskLearningGraphs.learningLayers(g)) {
      layers.add(new PrunableLayer(l.layerName(), l.maskShape(), l.weights()));
    }
    return new ThresholdAllocator(layers, ThresholdAllocator.builder(target).learningRate(allocationLearningRate)
        .controlWeight(controlWeight * controlScale).init(init).build());
  }

  /** A worker's copy of the learning graph and, for allocation, its allocator. */
  static final class Model {
    final ComputationGraph graph;
    final List<MaskLearningLayer> layers;
    final ThresholdAllocator allocator;
    /**
     * The dense teacher: allocation with adjusted weights, the learning graph with every threshold at 0;
     * learned-nm with {@code --distill}, the original model (else null: allocation's graph serves).
     */
    final ComputationGraph teacher;
    /**
     * Dense outputs per minibatch content (allocation, {@code --distill}): they never change, they come from the
     * original weights.
     */
    final java.util.Map<Long, INDArray> denseOutputs = new java.util.HashMap<>();

    Model(ComputationGraph graph, ThresholdAllocator allocator) {
      this(graph, allocator, null);
    }

    Model(ComputationGraph graph, ThresholdAllocator allocator, ComputationGraph teacher) {
      this.graph = graph;
      this.layers = MaskLearningGraphs.learningLayers(graph);
      this.allocator = allocator;
      this.teacher = teacher;
      if (teacher != null) {
        for (MaskLearningLayer l : MaskLearningGraphs.learningLayers(teacher)) {
          l.setLearnedParams(new float[] {0f});
        }
      }
    }
  }

  /** Length of the learned vector: thresholds, then the weights when they are adjusted. */
  static int vectorLength(List<MaskLearningLayer> layers, boolean adjustWeights) {
    int n = layers.size();
    if (adjustWeights) {
      for (MaskLearningLayer l : layers) {
        n += l.maskShape().size();
      }
    }
    return n;
  }

  /**
   * @param teacherBytes the original model's zip, needed by learned-nm with {@code --distill} (else unused, may be
   *     null)
   */
  Model load(byte[] modelBytes, byte[] teacherBytes) {
    try {
      ComputationGraph g = ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(modelBytes), false);
      if (method != SparsifyMethod.ALLOCATION) {
        if (!distill) {
          return new Model(g, null);
        }
        if (teacherBytes == null) {
          throw new IllegalStateException("learned-nm --distill needs the original model's bytes for the dense outputs");
        }
        return new Model(g, null, ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(teacherBytes), false));
      }
      ComputationGraph teacher = adjustWeights
          ? ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(modelBytes), false) : null;
      return new Model(g, allocator(g), teacher);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot restore the broadcast learning graph: " + e.getMessage(), e);
    }
  }

  /**
   * Writes the vector into the graph: logits as they are, normalised thresholds times the layer's RMS (and the
   * weights after them when they are adjusted).
   */
  void setVector(Model model, float[] vector) {
    if (method == SparsifyMethod.ALLOCATION) {
      int off = model.layers.size();
      boolean withWeights = vector.length > off; // the driver's start probes pass thresholds only
      for (int l = 0; l < model.layers.size(); l++) {
        MaskLearningLayer layer = model.layers.get(l);
        layer.setLearnedParams(new float[] {(float) model.allocator.bridge(l).toWeightUnits(vector[l])});
        if (withWeights) {
          int n = (int) layer.maskShape().size();
          layer.setWeights(java.util.Arrays.copyOfRange(vector, off, off + n));
          off += n;
        }
      }
    } else {
      MaskLearningGraphs.setLearnedVector(model.graph, vector);
    }
  }

  /**
   * One step's loss and gradient wrt the vector (already set in the graph) on {@code batch}.
   *
   * @param noiseStep seeds the Gumbel noise of this step (unique per step and worker)
   * @return {loss, gradient}
   */
  Step step(Model model, float[] vector, DataSet batch, long globalStep, long noiseStep) {
    ComputationGraph g = model.graph;
    int b = batch.numExamples();
    if (method == SparsifyMethod.ALLOCATION) {
      Reconstruction rec = reconstruction(model, vector, batch);
      int layers = model.layers.size();
      double[] t = new double[layers];
      for (int l = 0; l < t.length; l++) {
        t[l] = vector[l];
      }
      model.allocator.setThresholds(t);
      double[] control = model.allocator.controlLossGradient();
      double controlLoss = model.allocator.controlLoss();
      float[] grad = new float[vector.length];
      for (int l = 0; l < layers; l++) {
        grad[l] = (float) (rec.gradient()[l] + controlWeight * controlScale * control[l]);
      }
      if (adjustWeights) {
        int off = layers;
        for (MaskLearningLayer layer : model.layers) {
          float[] dw = layer.weightGradient();
          for (int i = 0; i < dw.length; i++) {
            grad[off + i] = dw[i] / b; // KL of the mean: DL4J's gradients are minibatch sums
          }
          off += dw.length;
        }
      }
      return new Step(rec.kl() + controlWeight * controlScale * controlLoss, grad);
    }
    double tau = temperature().tau(globalStep);
    for (MaskLearningLayer l : model.layers) {
      l.setTemperature(tau);
      l.setNoiseStep(noiseStep);
    }
    INDArray p = distill ? denseOutputs(model, batch.getFeatures()) : null;
    g.setInputs(batch.getFeatures());
    g.setLabels(distill ? p : batch.getLabels());
    g.computeGradientAndScore();
    float[] grad = MaskLearningGraphs.learnedGradientVector(g);
    for (int i = 0; i < grad.length; i++) {
      grad[i] /= b; // DL4J gradients are minibatch sums
    }
    return new Step(distill ? g.score() - entropy(p) / b : g.score(), grad);
  }

  /**
   * The dense model's softmax outputs on {@code x}, cached per minibatch content (they never change: they come
   * from the original weights). Allocation without a teacher computes them with every threshold at 0 and leaves
   * the graph's thresholds to the caller to set back.
   */
  INDArray denseOutputs(Model model, INDArray x) {
    long key = contentKey(x);
    INDArray p = model.denseOutputs.get(key);
    if (p == null) {
      if (model.teacher != null) {
        p = model.teacher.outputSingle(false, x).castTo(DataType.FLOAT).dup();
      } else {
        for (MaskLearningLayer l : model.layers) {
          l.setLearnedParams(new float[] {0f});
        }
        p = model.graph.outputSingle(false, x).castTo(DataType.FLOAT).dup();
      }
      model.denseOutputs.put(key, p);
    }
    return p;
  }

  /** Sum over the minibatch of the rows' entropies H(p). */
  private static double entropy(INDArray p) {
    double h = 0;
    for (double v : p.castTo(DataType.DOUBLE).data().asDouble()) {
      if (v > 0) {
        h -= v * Math.log(v);
      }
    }
    return h;
  }

  /**
   * L_rec = KL(softmax(Y_dense) || softmax(Y_sparse)) of one minibatch at the (normalised) thresholds
   * {@code vector}, and dL_rec/dt_l per layer in normalised units (the straight-through gradient times the
   * layer's weight RMS). The dense outputs (every threshold 0) are cached per minibatch content, so later
   * epochs cost one forward-backward pass per step instead of two.
   */
  Reconstruction reconstruction(Model model, float[] vector, DataSet batch) {
    ComputationGraph g = model.graph;
    int b = batch.numExamples();
    INDArray x = batch.getFeatures();
    INDArray p = denseOutputs(model, x);
    setVector(model, vector);
    g.setInputs(x);
    g.setLabels(p);
    g.computeGradientAndScore();
    double ce = g.score();
    double[] grad = new double[model.layers.size()];
    for (int l = 0; l < grad.length; l++) {
      grad[l] = model.layers.get(l).learnedGradient()[0] / b * model.allocator.bridge(l).scale();
    }
    return new Reconstruction(ce - entropy(p) / b, grad);
  }

  /** A 64-bit hash of a minibatch's features (the key of the dense-output cache). */
  private static long contentKey(INDArray x) {
    float[] f = x.castTo(DataType.FLOAT).dup().data().asFloat();
    long h = 0x9E3779B97F4A7C15L ^ f.length;
    for (float v : f) {
      h = (h ^ Float.floatToIntBits(v)) * 0x100000001B3L;
      h ^= h >>> 29;
    }
    return h;
  }

  record Reconstruction(double kl, double[] gradient) {}

  /** After an optimizer step: thresholds stay above the allocator's minimum. */
  void clamp(float[] vector, int thresholds) {
    if (method == SparsifyMethod.ALLOCATION) {
      for (int i = 0; i < thresholds; i++) {
        vector[i] = (float) Math.max(ThresholdAllocator.MIN_THRESHOLD, vector[i]);
      }
    }
  }

  record Step(double loss, float[] gradient) {}
}
