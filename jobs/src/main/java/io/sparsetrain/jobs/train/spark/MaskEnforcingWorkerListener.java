package io.sparsetrain.jobs.train.spark;

import io.sparsetrain.nn.MaskEnforcingListener;
import io.sparsetrain.nn.MaskedNetwork;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskSet;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Runs inside every worker's copy of the network during an averaging round. Before the first update it checks
 * the worker's masks against the driver's checksums (failing the task loudly, naming the layer and both
 * checksums), then keeps masked weights at zero:
 * <ul>
 *   <li>sparse layers (masks are the "M" parameter, {@link WorkerMasks#checksumsOf}): the checked masks are the
 *   ones the worker's network holds; the layers zero masked gradients themselves and {@link MaskEnforcingListener}
 *   re-masks after each update (momentum / Adam state from before a mask change). It also reports which layers
 *   run on the compressed N:M kernels on this worker ({@link MaskedNetwork#compressedLayers()}) into a Spark
 *   accumulator, so the driver can see that the freeze reached the workers;</li>
 *   <li>stock DL4J layers (baseline; masks shipped beside the network): the shipped masks are verified, masked
 *   gradients are zeroed after each gradient computation and the weights re-masked after each update (PROBES.md:
 *   without this 92 of 101 masked weights came back).</li>
 * </ul>
 *
 * <p>Each worker copy whose masks passed the check adds 1 to the {@code maskChecksPassed} accumulator, so the driver
 * can report how many workers verified the masks in a round (Spark merges the accumulators of successful tasks only:
 * a task lost with its executor and re-run counts once).
 *
 * <p>DL4J Spark ships listeners to the workers inside the serialized training worker
 * ({@code ParameterAveragingTrainingMaster.setListeners}, Java-serialized with the task closure), so this class is
 * {@link Serializable} and holds only the compact {@link WorkerMasks} and the accumulator.
 */
public final class MaskEnforcingWorkerListener extends BaseTrainingListener implements Serializable {
  private static final long serialVersionUID = 2L;

  private final WorkerMasks masks;
  private final CollectionAccumulator<String> compressedLayers;
  private final LongAccumulator maskChecksPassed;
  private transient boolean checked;
  private transient MaskEnforcingListener sparse; // non-null for a network on sparse layers
  private transient Map<String, INDArray> stockMasks; // decoded and verified once per deserialized copy

  /**
   * @param compressedLayers receives, once per worker task, the names of the layers computing on compressed
   *     kernels (may be null)
   */
  public MaskEnforcingWorkerListener(WorkerMasks masks, CollectionAccumulator<String> compressedLayers) {
    this(masks, compressedLayers, null);
  }

  /**
   * @param compressedLayers receives, once per worker task, the names of the layers computing on compressed
   *     kernels (may be null)
   * @param maskChecksPassed counts the worker copies whose masks matched the driver's checksums (may be null)
   */
  public MaskEnforcingWorkerListener(WorkerMasks masks, CollectionAccumulator<String> compressedLayers,
      LongAccumulator maskChecksPassed) {
    this.masks = masks;
    this.compressedLayers = compressedLayers;
    this.maskChecksPassed = maskChecksPassed;
  }

  public MaskEnforcingWorkerListener(WorkerMasks masks) {
    this(masks, null);
  }

  public WorkerMasks masks() {
    return masks;
  }

  private static ComputationGraph graph(Model model) {
    if (!(model instanceof ComputationGraph)) {
      throw new IllegalStateException("masks need a ComputationGraph, got " + model.getClass().getName());
    }
    return (ComputationGraph) model;
  }

  /** Verifies the masks once per worker copy and sets up the enforcement for the network's layer kind. */
  private void check(Model model) {
    if (checked) {
      return;
    }
    ComputationGraph g = graph(model);
    MaskedNetwork net = MaskedNetwork.of(g);
    if (!net.sparseLayers().isEmpty()) {
      masks.verifyWorker(net.masks());
      sparse = new MaskEnforcingListener();
      if (compressedLayers != null) {
        for (String name : net.compressedLayers()) {
          compressedLayers.add(name);
        }
      }
    } else {
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
      stockMasks = out;
    }
    checked = true;
    if (maskChecksPassed != null) {
      maskChecksPassed.add(1);
    }
  }

  private void remask(Model model) {
    check(model);
    if (sparse != null) {
      sparse.iterationDone(model, 0, 0);
      return;
    }
    ComputationGraph g = graph(model);
    for (Map.Entry<String, INDArray> e : stockMasks.entrySet()) {
      g.getLayer(e.getKey()).getParam("W").muli(e.getValue());
    }
  }

  @Override
  public void onEpochStart(Model model) {
    remask(model);
  }

  @Override
  public void onForwardPass(Model model, List<INDArray> activations) {
    check(model);
  }

  @Override
  public void onForwardPass(Model model, Map<String, INDArray> activations) {
    check(model);
  }

  @Override
  public void onGradientCalculation(Model model) {
    check(model);
    if (sparse != null) {
      return; // sparse layers multiply dW by M themselves
    }
    Gradient grad = graph(model).gradient();
    if (grad == null) {
      return;
    }
    for (Map.Entry<String, INDArray> e : stockMasks.entrySet()) {
      INDArray gw = grad.getGradientFor(e.getKey() + "_W");
      if (gw != null) {
        gw.muli(e.getValue());
      }
    }
  }

  @Override
  public void iterationDone(Model model, int iteration, int epoch) {
    remask(model);
  }
}
