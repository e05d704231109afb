package io.sparsetrain.nn.layers;

import java.util.Collection;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A plain ReLU activation layer ({@code max(x, 0)}, derivative 1 where {@code x > 0}) computed in Java loops
 * over float arrays when the activation is small (see {@link FastReluLayer}). DL4J's {@link ActivationLayer} copies
 * its input and runs an ND4J op in each direction: its forward pass took 13-18% of ResNet-20's batch-1 inference on
 * our layers, mostly per-op overhead on small arrays; on large arrays ND4J's op is faster and is used. This is an {@link ActivationLayer} (same JSON
 * fields, same graph position) whose activation is always plain ReLU; {@code SparseConversion} swaps DL4J's
 * plain-ReLU activation layers for it and back.
 */
public class FastRelu extends ActivationLayer {

    public FastRelu() {
        super(new ActivationReLU());
    }

    /** The activation is ReLU by definition: anything else is refused, naming the layer. */
    @Override
    public void setActivationFn(IActivation fn) {
        if (!isPlainRelu(fn)) {
            throw new IllegalArgumentException("layer " + getLayerName() + ": FastRelu computes plain ReLU only, got " + fn);
        }
        super.setActivationFn(fn);
    }

    /** True for ReLU without max, threshold or negative slope (what this layer computes). */
    public static boolean isPlainRelu(IActivation fn) {
        if (!(fn instanceof ActivationReLU r)) {
            return false;
        }
        return r.getMax() == null && (r.getThreshold() == null || r.getThreshold() == 0.0)
                && (r.getNegativeSlope() == null || r.getNegativeSlope() == 0.0);
    }

    @Override
    public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners,
                                                         int layerIndex, INDArray layerParamsView, boolean initializeParams,
                                                         DataType networkDataType) {
        return LayerWiring.wire(new FastReluLayer(conf, networkDataType), conf, listeners, layerIndex, layerParamsView,
                initializeParams);
    }

    @Override
    public FastRelu clone() {
        return (FastRelu) super.clone();
    }
}
