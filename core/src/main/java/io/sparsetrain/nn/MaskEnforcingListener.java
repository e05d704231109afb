package io.sparsetrain.nn;

import io.sparsetrain.nn.layers.SparseLayer;
import java.io.Serializable;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;

/**
 * Re-applies W *= M on every sparse layer after each parameter update ({@code iterationDone} runs
 * after the updater), so that momentum or Adam state never brings a pruned weight back. The
 * layers already zero the gradient at masked positions; this closes the remaining gap when a mask
 * changes while the updater still holds state for the newly pruned weights. Serializable, for
 * DL4J Spark workers.
 */
public class MaskEnforcingListener extends BaseTrainingListener implements Serializable {

    private static final long serialVersionUID = 1L;

    private transient long restored;

    @Override
    public void iterationDone(Model model, int iteration, int epoch) {
        Layer[] layers = model instanceof ComputationGraph g ? g.getLayers()
                : model instanceof MultiLayerNetwork n ? n.getLayers() : new Layer[] {(Layer) model};
        for (Layer l : layers) {
            if (l instanceof SparseLayer s) {
                restored += s.enforceMask();
            }
        }
    }

    /** Masked weights this listener has zeroed again since it was created (on this JVM). */
    public long restoredWeights() {
        return restored;
    }
}
