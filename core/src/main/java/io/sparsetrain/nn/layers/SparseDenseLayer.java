package io.sparsetrain.nn.layers;

import io.sparsetrain.kernels.DenseLayerKernels;
import io.sparsetrain.kernels.NmMatrix;
import io.sparsetrain.prune.LayerShape;
import java.util.Arrays;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The layer instance of {@link SparseDense}: y = act(x W^T + b) on {@link DenseLayerKernels}, dense
 * W*M or the compressed N:M matrix of a frozen N:M mask. Like the convolution, a training forward
 * pass keeps its input and pre-activation for the backward pass.
 */
public class SparseDenseLayer extends AbstractSparseLayer<SparseDense> {

    private static final DenseLayerKernels KERNELS = DenseLayerKernels.get();

    private transient Forward cache;

    public SparseDenseLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    private record Forward(INDArray inputRef, int batch, float[] x, Effective eff, NmMatrix nm, float[] z) {
        float[] w() {
            return eff.weights();
        }
    }

    private int nIn() {
        return (int) layerConf().getNIn();
    }

    private int nOut() {
        return (int) layerConf().getNOut();
    }

    @Override
    protected char paramOrder() {
        return 'f';
    }

    @Override
    protected MaskedWeights newMaskedWeights() {
        return new MaskedWeights('f', nOut(), nIn());
    }

    @Override
    protected void dropForwardCache() {
        cache = null;
    }

    private Forward forward(boolean training) {
        if (input.rank() != 2 || input.size(1) != nIn()) {
            throw new IllegalArgumentException("layer " + layerName() + ": expected input [batch, " + nIn() + "], got "
                    + Arrays.toString(input.shape()));
        }
        int batch = (int) input.size(0);
        float[] x = NdFloats.read(input, 'c');
        Effective wm = effective(training);
        NmMatrix compressed = compressed(wm);
        float[] y = compressed != null ? KERNELS.forward(x, compressed, batch) : KERNELS.forward(x, wm.weights(), batch, nIn(), nOut());
        if (hasBias()) {
            float[] b = NdFloats.read(getParam(SparseDenseParamInitializer.BIAS_KEY), 'c');
            int out = nOut();
            for (int n = 0; n < batch; n++) {
                for (int j = 0; j < out; j++) {
                    y[n * out + j] += b[j];
                }
            }
        }
        return new Forward(input, batch, x, wm, compressed, y);
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(false);
        applyDropOutIfNecessary(training, workspaceMgr);
        Forward f = forward(training);
        INDArray z = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, new long[] {f.batch(), nOut()}, 'c');
        NdFloats.write(f.z(), z, 'c');
        INDArray out = layerConf().getActivationFn().getActivation(z, training);
        cache = training ? f : null;
        return out;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(true);
        Forward f = cache;
        if (f == null || f.inputRef() != input) {
            recomputedForwards++;
            f = forward(true);
        }
        cache = null;
        int batch = f.batch();
        int in = nIn();
        int out = nOut();
        INDArray delta = epsilon;
        if (!(layerConf().getActivationFn() instanceof ActivationIdentity)) {
            INDArray z = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, new long[] {batch, out}, 'c');
            NdFloats.write(f.z(), z, 'c');
            delta = layerConf().getActivationFn().backprop(z, epsilon).getFirst();
        }
        float[] dy = NdFloats.read(delta, 'c');

        Gradient gradient = new DefaultGradient();
        float[] dw;
        if (f.nm() != null) {
            dw = new float[out * in];
            f.nm().scatterSlots(KERNELS.backwardWeight(f.x(), dy, f.nm(), batch), dw);
        } else {
            dw = KERNELS.backwardWeight(f.x(), dy, batch, in, out);
        }
        putWeightGradients(gradient, dw, f.eff());
        if (hasBias()) {
            float[] db = new float[out];
            for (int n = 0; n < batch && biasTrainable(); n++) { // frozen while a mask is learned
                for (int j = 0; j < out; j++) {
                    db[j] += dy[n * out + j];
                }
            }
            INDArray bGrad = gradientViews.get(SparseDenseParamInitializer.BIAS_KEY);
            NdFloats.write(db, bGrad, 'c');
            gradient.gradientForVariable().put(SparseDenseParamInitializer.BIAS_KEY, bGrad);
        }
        float[] dx = f.nm() != null ? KERNELS.backwardInput(dy, f.nm(), batch) : KERNELS.backwardInput(dy, f.w(), batch, in, out);
        INDArray eps = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, new long[] {batch, in}, 'c');
        NdFloats.write(dx, eps, 'c');
        eps = backpropDropOutIfPresent(eps);
        return new Pair<>(gradient, eps);
    }

    // ------------------------------------------------------------ SparseLayer

    @Override
    public LayerShape maskShape() {
        return LayerShape.dense(nOut(), nIn());
    }
}
