package io.sparsetrain.nn;

import static io.sparsetrain.nn.NnTestNets.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.nn.convert.SparseConversion;
import io.sparsetrain.nn.layers.FastRelu;
import io.sparsetrain.nn.models.ImageShape;
import io.sparsetrain.nn.models.LayerKind;
import io.sparsetrain.nn.models.ModelSpec;
import io.sparsetrain.nn.models.ResNets;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Our ReLU layer and residual sum against DL4J's activation layer and vertex, their JSON, and the conversions that swap them in and out. */
class FastReluTest {

    @ParameterizedTest(name = "cnn={0} large={1}")
    @CsvSource({"true, false", "false, false", "true, true"})
    void matchesDl4jActivationLayer(boolean cnn, boolean large) {
        // large: 2 x 3 x 100 x 120 floats, above FastReluLayer.MAX_JAVA_FLOATS (ND4J's op through our layer)
        int h = large ? 100 : 5;
        int w = large ? 120 : 4;
        int batch = large ? 2 : 6;
        InputType in = cnn ? InputType.convolutional(h, w, 3) : InputType.feedForward(3);
        MultiLayerNetwork stock = single(new ActivationLayer(Activation.RELU), in, 3);
        MultiLayerNetwork ours = single(new FastRelu(), in, 3);
        copyParams(stock, ours);
        INDArray x = cnn ? random(1, batch, 3, h, w) : random(1, batch, 3); // about half of the inputs negative
        assertEquals(large, x.length() > io.sparsetrain.nn.layers.FastReluLayer.MAX_JAVA_FLOATS);
        INDArray y = random(2, batch, 3);
        assertTrue(x.lt(0).any() && x.gt(0).any(), "inputs on both sides of 0");
        // DL4J's own layer fails its workspace validation in inference before a CNN-to-dense preprocessor in a
        // MultiLayerNetwork (its output is detached): its training-mode output is the same function. Ours creates
        // its output in the activations workspace on both paths (Java loop, ND4J's op above the size limit)
        assertEquals(0.0, relDiff(stock.output(x, true), ours.output(x, false)), 0.0, "forward");
        assertEquals(0.0, relDiff(stock.output(x, true), ours.output(x, true)), 0.0, "forward, training mode");
        assertEquals(0.0, relDiff(inputGradient(stock, x, y), inputGradient(ours, x, y)), 0.0, "input gradient");
        assertEquals(0.0, relDiff(gradient(stock, x, y).getGradientFor("1_W"), gradient(ours, x, y).getGradientFor("1_W")), 0.0,
                "the next layer's weight gradient");
        INDArray g = inputGradient(ours, x, y);
        for (long i = 0; i < x.length(); i++) {
            if (x.getDouble(i) < 0) {
                assertEquals(0.0, g.getDouble(i), 0.0, "no gradient through a negative input at " + i);
            }
        }
    }

    @Test
    void jsonRoundTripKeepsTheLayerAndRefusesOtherActivations() {
        MultiLayerNetwork ours = single(new FastRelu(), InputType.feedForward(3), 3);
        MultiLayerConfiguration back = MultiLayerConfiguration.fromJson(ours.getLayerWiseConfigurations().toJson());
        assertInstanceOf(FastRelu.class, back.getConf(0).getLayer());
        assertTrue(FastRelu.isPlainRelu(new ActivationReLU()));
        assertFalse(FastRelu.isPlainRelu(new ActivationReLU(6.0, 0.0, 0.0)), "ReLU6 is not plain");
        assertFalse(FastRelu.isPlainRelu(Activation.TANH.getActivationFunction()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new FastRelu().setActivationFn(Activation.TANH.getActivationFunction()));
        assertTrue(e.getMessage().contains("plain ReLU only"), e.getMessage());
    }

    @Test
    void conversionSwapsPlainReluLayersBothWays() {
        ModelSpec spec = ModelSpec.builder().input(ImageShape.of(1, 12, 12)).numClasses(4).layers(LayerKind.STOCK).build();
        ComputationGraph stock = ResNets.init(ResNets.cifar(8, 4, spec));
        ComputationGraph sparse = SparseConversion.toSparse(stock);
        assertInstanceOf(FastRelu.class, sparse.getLayer("stem_relu").conf().getLayer());
        assertInstanceOf(io.sparsetrain.nn.layers.FastAdd.class, sparse.getConfiguration().getVertices().get("s1b1_add"));
        ComputationGraph back = SparseConversion.toStock(sparse);
        assertEquals(ActivationLayer.class, back.getLayer("stem_relu").conf().getLayer().getClass());
        assertEquals(org.deeplearning4j.nn.conf.graph.ElementWiseVertex.class, back.getConfiguration().getVertices().get("s1b1_add").getClass());
        INDArray x = random(4, 2, 1, 12, 12);
        assertTrue(relDiff(stock.outputSingle(x), sparse.outputSingle(x)) < 1e-4, "same outputs after the conversion");
        assertTrue(relDiff(stock.outputSingle(x), back.outputSingle(x)) < 1e-4, "and back");
        // the builders put it into our models
        ComputationGraph built = ResNets.init(ResNets.cifar(8, 4, ModelSpec.builder().input(ImageShape.of(1, 12, 12)).numClasses(4).build()));
        assertInstanceOf(FastRelu.class, built.getLayer("stem_relu").conf().getLayer());
    }

    @Test
    void fastAddMatchesDl4jsVertexAndRoundTripsThroughJson() {
        ComputationGraph ours = ResNets.init(ResNets.cifar(8, 4, ModelSpec.builder().input(ImageShape.of(1, 12, 12)).numClasses(3).build()));
        assertInstanceOf(io.sparsetrain.nn.layers.FastAdd.class, ours.getConfiguration().getVertices().get("s1b1_add"),
                "the builders use it on our layers");
        String json = ours.getConfiguration().toJson();
        String fast = io.sparsetrain.nn.layers.FastAdd.class.getName();
        assertTrue(json.contains(fast));
        // the same network with DL4J's vertex: its JSON with the class swapped, the same parameters
        ComputationGraph dl4j = new ComputationGraph(org.deeplearning4j.nn.conf.ComputationGraphConfiguration.fromJson(
                json.replace(fast, org.deeplearning4j.nn.conf.graph.ElementWiseVertex.class.getName())));
        dl4j.init(ours.params().dup(), true);
        assertEquals(org.deeplearning4j.nn.conf.graph.ElementWiseVertex.class, dl4j.getConfiguration().getVertices().get("s1b1_add").getClass());
        assertInstanceOf(io.sparsetrain.nn.layers.FastAdd.class, org.deeplearning4j.nn.conf.ComputationGraphConfiguration.fromJson(json)
                .getVertices().get("s1b1_add"), "JSON round trip");
        INDArray x = random(5, 4, 1, 12, 12);
        INDArray y = org.nd4j.linalg.factory.Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, 4, 3);
        for (int i = 0; i < 4; i++) {
            y.putScalar(i, i % 3, 1f);
        }
        assertTrue(relDiff(dl4j.clone().outputSingle(x), ours.clone().outputSingle(x)) < 1e-5, "inference");
        INDArray before = ours.params().dup();
        ours.fit(new org.nd4j.linalg.dataset.DataSet(x, y));
        dl4j.fit(new org.nd4j.linalg.dataset.DataSet(x, y));
        assertTrue(relDiff(before, ours.params()) > 1e-4, "a training step moved the parameters");
        assertTrue(relDiff(dl4j.params(), ours.params()) < 1e-5, "the same step through either sum (gradients agree)");
    }
}
