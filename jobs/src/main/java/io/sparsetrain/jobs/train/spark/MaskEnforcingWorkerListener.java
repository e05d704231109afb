package io.sparsetrain.jobs.train.spark;

import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskSet;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Runs inside every worker's copy of the network during an averaging round and keeps masked weights at zero:
 * before training it checks the shipped masks against the driver's checksums ({@link WorkerMasks#verify()},
 * failing the task loudly on a mismatch), then zeroes masked gradients after each gradient computation and
 * re-masks the weights after each update, so momentum or Adam state cannot resurrect a pruned weight
 * (PROBES.md: without this 92 of 101 masked weights came back).
 *
 * <p>DL4J Spark ships listeners to the workers inside the serialized training worker
 * ({@code ParameterAveragingTrainingMaster.setListeners}, Java-serialized with the task closure), so this class is
 * {@link Serializable} and holds only the compact {@link WorkerMasks}.
 */
public final class MaskEnforcingWorkerListener implements TrainingListener, Serializable {
  private static final long serialVersionUID = 1L;

  private final WorkerMasks masks;
  private transient Map<String, INDArray> maskArrays; // decoded and verified once per deserialized copy

  public MaskEnforcingWorkerListener(WorkerMasks masks) {
    this.masks = masks;
  }

  public WorkerMasks masks() {
    return masks;
  }

  private Map<String, INDArray> arrays(ComputationGraph g) {
    if (maskArrays == null) {
      MaskSet set = masks.verify();
      Map<String, INDArray> out = new LinkedHashMap<>();
      for (String name : set.names()) {
        Layer layer = g.getLayer(name);
        if (layer == null) {
          throw new IllegalStateException("worker network has no layer " + name + " for its mask");
        }
        INDArray w = layer.getParam("W");
        Mask m = set.get(name);
        out.put(name, Nd4j.create(m.toFloatArray(), w.shape(), 'c').castTo(w.dataType()));
      }
      maskArrays = out;
    }
    return maskArrays;
  }

  private void remaskWeights(Model model) {
    if (!(model instanceof ComputationGraph)) {
      throw new IllegalStateException("masks need a ComputationGraph, got " + model.getClass().getName());
    }
    ComputationGraph g = (ComputationGraph) model;
    for (Map.Entry<String, INDArray> e : arrays(g).entrySet()) {
      g.getLayer(e.getKey()).getParam("W").muli(e.getValue());
    }
  }

  @Override
  public void onEpochStart(Model model) {
    remaskWeights(model);
  }

  @Override
  public void onEpochEnd(Model model) {
  }

  @Override
  public void onForwardPass(Model model, List<INDArray> activations) {
  }

  @Override
  public void onForwardPass(Model model, Map<String, INDArray> activations) {
  }

  @Override
  public void onGradientCalculation(Model model) {
    ComputationGraph g = (ComputationGraph) model;
    Gradient grad = g.gradient();
    Map<String, INDArray> arrays = arrays(g);
    if (grad == null) {
      return;
    }
    for (Map.Entry<String, INDArray> e : arrays.entrySet()) {
      INDArray gw = grad.getGradientFor(e.getKey() + "_W");
      if (gw != null) {
        gw.muli(e.getValue());
      }
    }
  }

  @Override
  public void onBackwardPass(Model model) {
  }

  @Override
  public void iterationDone(Model model, int iteration, int epoch) {
    remaskWeights(model);
  }
}
