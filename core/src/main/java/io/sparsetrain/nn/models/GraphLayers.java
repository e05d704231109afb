package io.sparsetrain.nn.models;

import io.sparsetrain.nn.layers.FastAdd;
import io.sparsetrain.nn.layers.FastBatchNormalization;
import io.sparsetrain.nn.layers.FastRelu;
import io.sparsetrain.nn.layers.SparseConvolution;
import io.sparsetrain.nn.layers.SparseDense;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** A small helper over DL4J's GraphBuilder that creates sparse or stock layers by {@link LayerKind}. */
final class GraphLayers {

    static final String INPUT = "input";

    private final ModelSpec spec;
    private final ComputationGraphConfiguration.GraphBuilder graph;

    GraphLayers(ModelSpec spec) {
        this.spec = spec;
        NeuralNetConfiguration.Builder base = new NeuralNetConfiguration.Builder().seed(spec.seed()).dataType(DataType.FLOAT)
                .weightInit(WeightInit.RELU).updater(spec.updater())
                .trainingWorkspaceMode(spec.workspaceMode()).inferenceWorkspaceMode(spec.workspaceMode());
        if (spec.l2() > 0) {
            base.l2(spec.l2());
        }
        ImageShape in = spec.input();
        this.graph = base.graphBuilder().addInputs(INPUT)
                .setInputTypes(InputType.convolutional(in.height(), in.width(), in.channels()));
    }

    /** Convolution without bias (a BatchNorm follows) and identity activation. */
    String conv(String name, String from, int nOut, int kernel, int stride, int padding) {
        Layer l = spec.layers() == LayerKind.SPARSE
                ? new SparseConvolution.Builder(kernel, kernel).nOut(nOut).stride(stride, stride).padding(padding, padding)
                        .convolutionMode(ConvolutionMode.Truncate).hasBias(false).activation(Activation.IDENTITY).build()
                : new ConvolutionLayer.Builder(kernel, kernel).nOut(nOut).stride(stride, stride).padding(padding, padding)
                        .convolutionMode(ConvolutionMode.Truncate).hasBias(false).activation(Activation.IDENTITY).build();
        graph.addLayer(name, l, from);
        return name;
    }

    /** Convolution with bias and an activation (no BatchNorm), as in LeNet-5. */
    String conv(String name, String from, int nOut, int kernel, int stride, int padding, Activation act) {
        Layer l = spec.layers() == LayerKind.SPARSE
                ? new SparseConvolution.Builder(kernel, kernel).nOut(nOut).stride(stride, stride).padding(padding, padding)
                        .convolutionMode(ConvolutionMode.Truncate).activation(act).build()
                : new ConvolutionLayer.Builder(kernel, kernel).nOut(nOut).stride(stride, stride).padding(padding, padding)
                        .convolutionMode(ConvolutionMode.Truncate).activation(act).build();
        graph.addLayer(name, l, from);
        return name;
    }

    String dense(String name, String from, int nOut, Activation act) {
        Layer l = spec.layers() == LayerKind.SPARSE
                ? new SparseDense.Builder().nOut(nOut).activation(act).build()
                : new DenseLayer.Builder().nOut(nOut).activation(act).build();
        graph.addLayer(name, l, from);
        return name;
    }

    /** Our plain-Java batch norm, ReLU and residual sum instead of DL4J's ({@link ModelSpec#fastBatchNorm()}). */
    private boolean fastLayers() {
        return spec.layers() == LayerKind.SPARSE && spec.fastBatchNorm();
    }

    String batchNorm(String name, String from) {
        graph.addLayer(name, fastLayers()
                ? new FastBatchNormalization.Builder().build()
                : new BatchNormalization.Builder().build(), from);
        return name;
    }

    /** ReLU: {@link FastRelu} with {@link #fastLayers()}, DL4J's activation layer otherwise. */
    String relu(String name, String from) {
        graph.addLayer(name, fastLayers() ? new FastRelu() : new ActivationLayer(Activation.RELU), from);
        return name;
    }

    String maxPool(String name, String from, int kernel, int stride, int padding) {
        graph.addLayer(name, new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(kernel, kernel).stride(stride, stride)
                .padding(padding, padding).convolutionMode(ConvolutionMode.Truncate).build(), from);
        return name;
    }

    String globalAvgPool(String name, String from) {
        graph.addLayer(name, new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), from);
        return name;
    }

    /** Residual sum: {@link FastAdd} with {@link #fastLayers()}, DL4J's vertex otherwise. */
    String add(String name, String a, String b) {
        graph.addVertex(name, fastLayers() ? new FastAdd() : new ElementWiseVertex(ElementWiseVertex.Op.Add), a, b);
        return name;
    }

    /** The classifier: a stock softmax OutputLayer (excluded from pruning by default). */
    String output(String name, String from) {
        graph.addLayer(name, new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(spec.numClasses())
                .activation(Activation.SOFTMAX).build(), from);
        graph.setOutputs(name);
        return name;
    }

    ComputationGraphConfiguration build() {
        return graph.build();
    }
}
