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
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinearDerivative;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The layer instance of {@link FastRelu}: on small activations (up to {@link #MAX_JAVA_FLOATS}, e.g. batch-1
 * inference) one bulk copy out of ND4J, one loop, one bulk copy back in each direction; larger ones run ND4J's own
 * ops (relu, relu_bp) from the input straight into an output created in the layer's workspace, one pass each way,
 * where DL4J's {@link ActivationLayer} first copies the input and, backward, has the op allocate its result outside
 * the workspace. Non-float arrays and dropout on the layer go to DL4J's implementation. Measured on ResNet-20
 * (LayersBenchmark, 2026-11-22): the Java path made batch-1 inference 1.21x faster than DL4J's layers but
 * training at batch 64 0.89x and batch-32 inference 0.80x (allocating, zeroing and copying 0.1-3 MB arrays on one
 * thread against ND4J's two-thread op), hence the size limit. Unlike DL4J's layer, inference in a MultiLayerNetwork
 * with a CNN-to-dense preprocessor after this layer works at every size (DL4J's fails with "array is defined in
 * incorrect workspace").
 */
public class FastReluLayer extends ActivationLayer {

    /** Largest activation (floats) computed in Java; above it DL4J's layer is faster. */
    public static final long MAX_JAVA_FLOATS = 1 << 15;

    public FastReluLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    /** What this layer does not cover: DL4J's implementation. */
    private boolean fallback() {
        return input.dataType() != DataType.FLOAT || layerConf().getIDropout() != null;
    }

    private boolean small() {
        return input.length() <= MAX_JAVA_FLOATS;
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(false);
        if (fallback()) {
            return super.activate(training, workspaceMgr);
        }
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, input.dataType(), input.shape(), 'c');
        if (!small()) {
            // ND4J's op from the input straight into the output (DL4J's layer copies the input first)
            Nd4j.getExecutioner().exec(new RectifiedLinear(input, out, 0.0));
            return out;
        }
        float[] v = NdFloats.read(input, 'c');
        relu(v);
        NdFloats.write(v, out, 'c');
        return out;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(true);
        if (fallback() || epsilon.dataType() != DataType.FLOAT) {
            return super.backpropGradient(epsilon, workspaceMgr);
        }
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, epsilon.dataType(), epsilon.shape(), 'c');
        if (!small()) {
            // ND4J's relu_bp from the input and epsilon straight into the output (DL4J's layer copies the input and
            // has the op allocate its result outside the workspace)
            Nd4j.getExecutioner().exec(new RectifiedLinearDerivative(input, epsilon, out, 0.0));
            return new Pair<>(new DefaultGradient(), out);
        }
        float[] x = NdFloats.read(input, 'c');
        float[] e = NdFloats.read(epsilon, 'c');
        reluBackward(x, e);
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
