package io.sparsetrain.nn.layers;

import io.sparsetrain.kernels.Conv2dShape;
import io.sparsetrain.kernels.NmMatrix;
import io.sparsetrain.prune.LayerShape;
import java.util.Arrays;
import org.deeplearning4j.nn.conf.ConvolutionMode;
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
 * The layer instance of {@link SparseConvolution}: forward, input gradient and weight gradient on
 * the kernel engine (dense W*M, or the compressed N:M matrix of a frozen N:M mask; see
 * {@link ConvCompute}). A training
 * forward pass keeps its im2col input and pre-activations (Java heap, outside DL4J workspaces) for
 * the following backward pass, so backprop does not recompute the convolution.
 */
public class SparseConvolutionLayer extends AbstractSparseLayer<SparseConvolution> {

    private transient ConvCompute compute;
    private transient Forward cache;

    public SparseConvolutionLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    /** What one forward pass used and produced; kept for the backward pass when training. */
    private record Forward(INDArray inputRef, Conv2dShape shape, float[] x, Effective eff, NmMatrix nm, float[] z) {
        float[] w() {
            return eff.weights();
        }
    }

    @Override
    public Type type() {
        return Type.CONVOLUTIONAL;
    }

    @Override
    protected char paramOrder() {
        return 'c';
    }

    @Override
    protected MaskedWeights newMaskedWeights() {
        SparseConvolution c = layerConf();
        int[] k = c.getKernelSize();
        return new MaskedWeights('c', (int) c.getNOut(), (int) c.getNIn() * k[0] * k[1]);
    }

    @Override
    protected void dropForwardCache() {
        cache = null;
    }

    /** The convolution of input {@code in}; {@code channelMajorK}: unfold in the K order of channel-wise groups. */
    Conv2dShape shapeFor(INDArray in, boolean channelMajorK) {
        SparseConvolution c = layerConf();
        if (in.rank() != 4) {
            throw new IllegalArgumentException("layer " + layerName() + ": expected NCHW input of rank 4, got shape " + Arrays.toString(in.shape()));
        }
        if (in.size(1) != c.getNIn()) {
            throw new IllegalArgumentException("layer " + layerName() + ": input has " + in.size(1) + " channels, layer expects nIn=" + c.getNIn());
        }
        int h = (int) in.size(2);
        int w = (int) in.size(3);
        int[] k = c.getKernelSize();
        int[] s = c.getStride();
        int[] d = c.getDilation();
        int[] p = c.getPadding();
        int padH = p[0];
        int padW = p[1];
        if (c.getConvolutionMode() == ConvolutionMode.Same) {
            padH = Conv2dShape.samePadding(h, k[0], s[0], d[0]);
            padW = Conv2dShape.samePadding(w, k[1], s[1], d[1]);
        }
        Conv2dShape shape = Conv2dShape.builder().batch((int) in.size(0)).input((int) c.getNIn(), h, w).outChannels((int) c.getNOut())
                .kernel(k[0], k[1]).stride(s[0], s[1]).padding(padH, padW).dilation(d[0], d[1])
                .channelMajorK(channelMajorK).build();
        if (c.getConvolutionMode() == ConvolutionMode.Same
                && (shape.outHeight() != ceilDiv(h, s[0]) || shape.outWidth() != ceilDiv(w, s[1]))) {
            throw new UnsupportedOperationException("layer " + layerName() + ": ConvolutionMode.Same needs asymmetric padding for input "
                    + h + "x" + w + " and " + shape + "; use Truncate with explicit padding");
        }
        return shape;
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private ConvCompute compute() {
        if (compute == null) {
            compute = new ConvCompute();
        }
        return compute;
    }

    private Forward forward(boolean training) {
        Effective wm = effective(training);
        NmMatrix compressed = compressed(wm);
        // a compressed matrix in the channel-wise K order: unfold the input in that order too
        Conv2dShape s = shapeFor(input, computesInPermutedK());
        float[] x = NdFloats.read(input, 'c');
        float[] y = compute().forward(s, x, wm.weights(), compressed, training);
        if (hasBias()) {
            float[] b = NdFloats.read(getParam(SparseConvolutionParamInitializer.BIAS_KEY), 'c');
            int hw = s.outHeight() * s.outWidth();
            for (int n = 0; n < s.batch(); n++) {
                for (int co = 0; co < s.outChannels(); co++) {
                    float bv = b[co];
                    int o = (n * s.outChannels() + co) * hw;
                    for (int i = o; i < o + hw; i++) {
                        y[i] += bv;
                    }
                }
            }
        }
        return new Forward(input, s, x, wm, compressed, y);
    }

    private static long[] outShape(Conv2dShape s) {
        return new long[] {s.batch(), s.outChannels(), s.outHeight(), s.outWidth()};
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(false);
        applyDropOutIfNecessary(training, workspaceMgr);
        Forward f = forward(training);
        INDArray z = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, outShape(f.shape()), 'c');
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
        Conv2dShape s = f.shape();
        INDArray delta = epsilon;
        if (!(layerConf().getActivationFn() instanceof ActivationIdentity)) {
            INDArray z = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, outShape(s), 'c');
            NdFloats.write(f.z(), z, 'c');
            delta = layerConf().getActivationFn().backprop(z, epsilon).getFirst();
        }
        float[] dy = NdFloats.read(delta, 'c');

        Gradient gradient = new DefaultGradient();
        if (hasBias()) {
            float[] db = new float[s.outChannels()];
            boolean biasTrainable = biasTrainable();
            int hw = s.outHeight() * s.outWidth();
            for (int n = 0; n < s.batch(); n++) {
                for (int co = 0; co < s.outChannels(); co++) {
                    int o = (n * s.outChannels() + co) * hw;
                    double sum = 0;
                    for (int i = o; i < o + hw; i++) {
                        sum += dy[i];
                    }
                    db[co] += biasTrainable ? (float) sum : 0f; // frozen while a mask is learned
                }
            }
            INDArray bGrad = gradientViews.get(SparseConvolutionParamInitializer.BIAS_KEY);
            NdFloats.write(db, bGrad, 'c');
            gradient.gradientForVariable().put(SparseConvolutionParamInitializer.BIAS_KEY, bGrad);
        }
        ConvCompute.Gradients grads = compute().backward(s, f.x(), dy, f.w(), f.nm());
        float[] dw = s.channelMajorK() ? mw().fromOrder(grads.dw(), frozenKOrder()) : grads.dw();
        putWeightGradients(gradient, dw, f.eff());

        float[] dx = grads.dx();
        INDArray eps = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, input.shape(), 'c');
        NdFloats.write(dx, eps, 'c');
        eps = backpropDropOutIfPresent(eps);
        return new Pair<>(gradient, eps);
    }

    @Override
    public void clear() {
        super.clear();
        if (compute != null) {
            compute.release();
        }
    }

    // ------------------------------------------------------------ SparseLayer

    @Override
    public LayerShape maskShape() {
        SparseConvolution c = layerConf();
        int[] k = c.getKernelSize();
        return LayerShape.conv((int) c.getNOut(), (int) c.getNIn(), k[0], k[1]);
    }
}
