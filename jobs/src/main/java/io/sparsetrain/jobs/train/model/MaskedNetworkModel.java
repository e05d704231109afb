package io.sparsetrain.jobs.train.model;

import io.sparsetrain.kernels.NmFormat;
import io.sparsetrain.nn.MaskedNetwork;
import io.sparsetrain.nn.layers.SparseLayer;
import io.sparsetrain.prune.MaskChecksum;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import java.util.List;
import java.util.Objects;
import org.deeplearning4j.nn.graph.ComputationGraph;

/**
 * {@link PrunableModel} over a {@link ComputationGraph} built on sparsetrain sparse layers, delegating to
 * {@link MaskedNetwork}. The masks are the layers' "M" parameters, so they travel to the workers with the
 * parameters, are averaged (identical masks average to themselves) and are saved in the model zip; the frozen
 * flag and N:M format are layer configuration, so a frozen N:M layer also runs on the compressed kernels on the
 * workers. Prunable layers are the sparse layers (the classifier is a stock OutputLayer unless the user's model
 * made it sparse).
 */
public final class MaskedNetworkModel implements PrunableModel {
  private final ComputationGraph graph;
  private final MaskedNetwork network;
  private final NmFormat freezeFormat;

  /**
   * @param freezeFormat the N:M format that {@link #freeze()} puts on the compressed kernels when a layer's mask
   *     has it (null: {@link MaskedNetwork#DEFAULT_NM})
   * @throws IllegalArgumentException if the graph has no sparse layer
   */
  public MaskedNetworkModel(ComputationGraph graph, NmFormat freezeFormat) {
    this.graph = Objects.requireNonNull(graph, "graph");
    this.network = MaskedNetwork.of(graph);
    this.freezeFormat = freezeFormat == null ? MaskedNetwork.DEFAULT_NM : freezeFormat;
    if (network.sparseLayers().isEmpty()) {
      throw new IllegalArgumentException("the network has no sparse layer (convolutions and dense layers must be "
          + "io.sparsetrain.nn sparse layers; set train.model.layers = stock for a stock DL4J network)");
    }
  }

  public MaskedNetworkModel(ComputationGraph graph) {
    this(graph, null);
  }

  /** True when {@code graph} has at least one sparse layer. */
  public static boolean isSparse(ComputationGraph graph) {
    return !MaskedNetwork.of(graph).sparseLayers().isEmpty();
  }

  @Override
  public ComputationGraph graph() {
    return graph;
  }

  public MaskedNetwork network() {
    return network;
  }

  @Override
  public List<PrunableLayer> prunableLayers() {
    return network.prunableLayers();
  }

  /**
   * Writes the masks into the "M" parameters and zeroes the masked weights. Re-applying the current masks only
   * re-enforces W *= M (the compressed kernels of frozen layers are kept).
   *
   * @throws IllegalStateException if the masks are frozen and {@code masks} differ, naming both checksums
   */
  @Override
  public void applyMasks(MaskSet masks) {
    MaskSet current = network.masks();
    boolean same = masks.names().stream().allMatch(n -> current.contains(n) && current.get(n).equals(masks.get(n)));
    if (same) {
      network.enforceMasks();
      return;
    }
    if (network.isFrozen()) {
      throw new IllegalStateException("masks are frozen (checksum " + MaskChecksum.hex(current.checksum())
          + "); refusing new masks with checksum " + MaskChecksum.hex(masks.checksum()));
    }
    network.applyMasks(masks);
  }

  /** The masks of every sparse layer (all-ones before the first pruning step and for excluded layers). */
  @Override
  public MaskSet masks() {
    return network.masks();
  }

  /** Freezes the masks; layers whose mask is N:M in the configured format switch to the compressed kernels. */
  @Override
  public void freeze() {
    network.freeze(freezeFormat);
  }

  @Override
  public boolean isFrozen() {
    return network.isFrozen();
  }

  @Override
  public boolean masksInParameters() {
    return true;
  }

  @Override
  public boolean classifierPrunable() {
    String[] outputs = graph.getConfiguration().getNetworkOutputs().toArray(new String[0]);
    for (String o : outputs) {
      if (graph.getLayer(o) instanceof SparseLayer) {
        return true;
      }
    }
    return false;
  }

  @Override
  public List<String> compressedLayers() {
    return network.compressedLayers();
  }

  @Override
  public String toString() {
    return network.toString();
  }
}
