package io.sparsetrain.nn.layers;

import java.io.Serializable;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Zeroes, before the updater runs, the gradient of every parameter that mask learning keeps frozen: all
 * parameters of all layers except the learned logits / thresholds (and the weights and bias of threshold
 * layers that adjust them). DL4J's NoOp updater applies a gradient as it is (that is how it moves batch-norm
 * running statistics), so a frozen parameter needs a zero gradient as well; with both, a step leaves it
 * unchanged bit for bit. Sparse layers already zero their own frozen gradients; this covers the stock layers
 * (the classifier) and the batch-norm scale and shift. {@link MaskLearningGraphs#prepare} adds it; add it
 * again after restoring a learning graph from a zip (listeners are not saved).
 */
public class FrozenParametersListener extends BaseTrainingListener implements Serializable {

    private static final long serialVersionUID = 1L;

    @Override
    public void onGradientCalculation(Model model) {
        Layer[] layers = model instanceof ComputationGraph g ? g.getLayers()
                : model instanceof MultiLayerNetwork n ? n.getLayers() : new Layer[] {(Layer) model};
        Gradient gradient = model.gradient();
        for (Layer l : layers) {
            String prefix = model instanceof ComputationGraph ? l.conf().getLayer().getLayerName() : String.valueOf(l.getIndex());
            for (Map.Entry<String, INDArray> p : l.paramTable().entrySet()) {
                boolean trainable = l.conf().getLayer() instanceof SparseLayerConfig c && c.maskMode() != MaskMode.FIXED
                        && SparseParams.trainable(c, p.getKey());
                if (!trainable) {
                    INDArray g = gradient.getGradientFor(prefix + "_" + p.getKey());
                    if (g != null) {
                        g.assign(0);
                    }
                }
            }
        }
    }
}
