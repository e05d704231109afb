package io.sparsetrain.nn.layers;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.ActivationLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The layer instance of {@link FastRelu}: on small activations (up to {@link #MAX_JAVA_FLOATS}, e.g. batch-1
 * inference) one bulk copy out of ND4J, one loop, one bulk copy back in each direction; larger ones, and what this
 * path does not cover (non-float arrays, dropout on the layer), go to DL4J's implementation. Measured on ResNet-20
 * (LayersBenchmark, 2026-11-22): the Java path made batch-1 inference 1.21x faster than DL4J's layers but
 * training at batch 64 0.89x and batch-32 inference 0.80x (allocating, zeroing and copying 0.1-3 MB arrays on one
 * thread against ND4J's two-thread in-place op), hence the size limit. Above it this layer is DL4J's, including
 * DL4J's failure of MultiLayerNetwork inference when a CNN-to-dense preprocessor follows the activation layer
 * ("array is defined in incorrect workspace"; computation graphs are not affected).
 */
public class FastReluLayer extends ActivationLayer {

    /** Largest activation (floats) computed in Java; above it DL4J's layer is faster. */
    public static final long MAX_JAVA_FLOATS = 1 << 15;

    public FastReluLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    private boolean fallback() {
        return input.dataType() != DataType.FLOAT || layerConf().getIDropout() != null || input.length() > MAX_JAVA_FLOATS;
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(false);
        if (fallback()) {
            return super.activate(training, workspaceMgr);
        }
        float[] v = NdFloats.read(input, 'c');
        relu(v);
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, input.dataType(), input.shape(), 'c');
        NdFloats.write(v, out, 'c');
        return out;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(true);
        if (fallback() || epsilon.dataType() != DataType.FLOAT) {
            return super.backpropGradient(epsilon, workspaceMgr);
        }
        float[] x = NdFloats.read(input, 'c');
        float[] e = NdFloats.read(epsilon, 'c');
        reluBackward(x, e);
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, epsilon.dataType(), epsilon.shape(), 'c');
        NdFloats.write(e, out, 'c');
        return new Pair<>(new DefaultGradient(), out);
    }

    /** {@code v = max(v, 0)} in place (NaN stays NaN, as in ND4J's relu). */
    static void relu(float[] v) {
        for (int i = 0; i < v.length; i++) {
            float a = v[i];
            v[i] = a < 0f ? 0f : a;
        }
    }

    /** {@code e *= (x > 0)} in place: ReLU's derivative at the forward input {@code x}. */
    static void reluBackward(float[] x, float[] e) {
        for (int i = 0; i < e.length; i++) {
            e[i] = x[i] > 0f ? e[i] : 0f;
        }
    }
}
