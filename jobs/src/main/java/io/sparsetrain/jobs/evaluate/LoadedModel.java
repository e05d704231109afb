package io.sparsetrain.jobs.evaluate;

import io.sparsetrain.jobs.train.checkpoint.TrainState;
import io.sparsetrain.jobs.train.model.GraphPrunableModel;
import io.sparsetrain.jobs.train.model.MaskedNetworkModel;
import io.sparsetrain.jobs.train.model.PrunableModel;
import io.sparsetrain.nn.MaskedNetwork;
import io.sparsetrain.prune.MaskSet;
import java.util.List;
import org.deeplearning4j.nn.graph.ComputationGraph;

/**
 * A model ready for evaluation.
 *
 * @param label unique label in the report
 * @param source what the command line said
 * @param checkpoint the checkpoint directory name (epoch-0003, freeze-step-...) or null for a model zip
 * @param state the checkpoint's state.json, or null
 * @param evaluated the network as evaluated: as loaded, with {@code --masks} applied and frozen (N:M masks on the
 *     compressed kernels)
 * @param reference the network before {@code --masks} were applied (same object as {@code evaluated} when none
 *     were given)
 * @param masks the masks the evaluated network holds (empty for a stock network without masks)
 * @param normalization the training run's data normalization ("unit" / "none") from its metrics.json, or null
 */
public record LoadedModel(String label, ModelSource source, String checkpoint, TrainState state,
    ComputationGraph evaluated, ComputationGraph reference, MaskSet masks, String normalization) {

  /** The pruning view of a network: sparse layers, or stock conv/dense layers. */
  static PrunableModel prunable(ComputationGraph g, MaskSet masks) {
    if (MaskedNetworkModel.isSparse(g)) {
      return new MaskedNetworkModel(g);
    }
    return masks == null ? new GraphPrunableModel(g) : new GraphPrunableModel(g, masks, true);
  }

  /** True when the network is built on sparsetrain sparse layers. */
  boolean sparseLayers() {
    return MaskedNetworkModel.isSparse(evaluated);
  }

  /** Layers computing on the compressed N:M kernels. */
  List<String> compressedLayers() {
    return sparseLayers() ? MaskedNetwork.of(evaluated).compressedLayers() : List.of();
  }
}
