package io.sparsetrain.nn;

import io.sparsetrain.nn.layers.SparseConvolution;
import io.sparsetrain.nn.layers.SparseDense;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** Small networks and comparisons shared by the nn tests. */
final class NnTestNets {

    private NnTestNets() {
    }

    /** One conv (or dense) layer under test, then a small MSE output layer. */
    static MultiLayerNetwork single(Layer layer, InputType inputType, long seed) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.FLOAT)
                .weightInit(WeightInit.XAVIER).updater(new Sgd(0.1)).list()
                .layer(layer)
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(3).activation(Activation.IDENTITY).build())
                .setInputType(inputType).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    static ConvolutionLayer stockConv(int nIn, int nOut, int k, int s, int p, Activation act) {
        return new ConvolutionLayer.Builder(k, k).nIn(nIn).nOut(nOut).stride(s, s).padding(p, p)
                .convolutionMode(ConvolutionMode.Truncate).activation(act).build();
    }

    static SparseConvolution sparseConv(int nIn, int nOut, int k, int s, int p, Activation act) {
        return new SparseConvolution.Builder(k, k).nIn(nIn).nOut(nOut).stride(s, s).padding(p, p)
                .convolutionMode(ConvolutionMode.Truncate).activation(act).build();
    }

    static DenseLayer stockDense(int nIn, int nOut, Activation act) {
        return new DenseLayer.Builder().nIn(nIn).nOut(nOut).activation(act).build();
    }

    static SparseDense sparseDense(int nIn, int nOut, Activation act) {
        return new SparseDense.Builder().nIn(nIn).nOut(nOut).activation(act).build();
    }

    /** Copies every parameter the stock network has into the same key of {@code to}. */
    static void copyParams(MultiLayerNetwork from, MultiLayerNetwork to) {
        for (Map.Entry<String, INDArray> e : from.paramTable().entrySet()) {
            to.setParam(e.getKey(), e.getValue().dup());
        }
    }

    static INDArray random(long seed, long... shape) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.rand(DataType.FLOAT, shape).subi(0.5).muli(2);
    }

    /** A random 0/1 mask with about {@code keep} of the entries kept. */
    static float[] randomMask(int n, double keep, long seed) {
        Random r = new Random(seed);
        float[] m = new float[n];
        for (int i = 0; i < n; i++) {
            m[i] = r.nextDouble() < keep ? 1f : 0f;
        }
        return m;
    }

    /** max |a - b| / max(1, max |a|). */
    static double relDiff(INDArray a, INDArray b) {
        INDArray x = a.castTo(DataType.DOUBLE);
        INDArray y = b.castTo(DataType.DOUBLE).reshape(x.shape());
        double scale = Math.max(1.0, x.amaxNumber().doubleValue());
        return x.sub(y).amaxNumber().doubleValue() / scale;
    }

    static Gradient gradient(MultiLayerNetwork net, INDArray x, INDArray y) {
        return net.calculateGradients(x, y, null, null).getFirst();
    }

    static INDArray inputGradient(MultiLayerNetwork net, INDArray x, INDArray y) {
        return net.calculateGradients(x, y, null, null).getSecond();
    }
}
