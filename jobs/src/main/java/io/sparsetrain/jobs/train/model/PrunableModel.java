package io.sparsetrain.jobs.train.model;

import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import java.util.List;
import org.deeplearning4j.nn.graph.ComputationGraph;

/**
 * The train job's view of the network on the driver: which weights are prunable, how masks are written into the
 * parameters, and whether the masks are frozen. A thin adapter so the job does not depend on how sparse layers
 * are implemented: {@link MaskedNetworkModel} for networks on sparsetrain sparse layers (masks are the "M"
 * parameter), {@link GraphPrunableModel} for stock DL4J layers (the baseline: masks multiplied into W).
 */
public interface PrunableModel {

  /** The DL4J network that is trained (its parameters are those of the driver's averaged network). */
  ComputationGraph graph();

  /**
   * Candidate layers in topological order with a COPY of their current weights, named as the graph names the
   * layer (non-grouped convolutions as {@code [Cout, Cin, kh, kw]}, dense layers as {@code [in, out]}).
   */
  List<PrunableLayer> prunableLayers();

  /** Zeroes the masked weights in the parameters and remembers the masks (they replace earlier ones). */
  void applyMasks(MaskSet masks);

  /** The current masks (empty before the first pruning step). */
  MaskSet masks();

  /** Marks the masks frozen: from now on they never change (N:M layers may switch to compressed kernels). */
  void freeze();

  boolean isFrozen();

  /**
   * True when the masks are part of the network's parameters (sparse layers): they reach the workers with the
   * parameters, and workers only check their checksums. False: the masks must be shipped beside the network.
   */
  default boolean masksInParameters() {
    return false;
  }

  /** True when the network's classifier is among {@link #prunableLayers()} (so exclude-classifier applies). */
  default boolean classifierPrunable() {
    return true;
  }

  /** Names of the layers computing on compressed N:M kernels (on the driver). */
  default List<String> compressedLayers() {
    return List.of();
  }
}
