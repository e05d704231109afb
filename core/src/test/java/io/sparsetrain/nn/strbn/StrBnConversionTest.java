package io.sparsetrain.nn.strbn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.learn.strbn.StrBnThreshold;
import io.sparsetrain.nn.models.ImageShape;
import io.sparsetrain.nn.models.LayerKind;
import io.sparsetrain.nn.models.LeNet5;
import io.sparsetrain.nn.models.ModelSpec;
import io.sparsetrain.nn.models.ResNets;
import java.util.List;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** Conversion to STR-BN is exact at g(s) = 0; unsupported graphs fail naming the vertex. */
class StrBnConversionTest {

    static final StrBnThreshold AT_MINUS_INFINITY = StrBnThreshold.of(StrBnThreshold.ThresholdFunction.SIGMOID, -1e30);

    @ParameterizedTest(name = "{0}")
    @CsvSource({"resnet-sparse", "resnet-stock", "lenet"})
    void convertedGraphComputesTheTrainedFunction(String model) {
        DataSet train = FashionMnist.load("train", 256);
        DataSet test = FashionMnist.load("t10k", 100);
        ModelSpec.Builder spec = ModelSpec.builder().input(ImageShape.of(1, 28, 28)).numClasses(10).updater(new Adam(2e-3));
        ComputationGraph g = switch (model) {
            case "resnet-sparse" -> ResNets.init(ResNets.cifar(8, 4, spec.build()));
            case "resnet-stock" -> ResNets.init(ResNets.cifar(8, 4, spec.layers(LayerKind.STOCK).build()));
            default -> ResNets.init(LeNet5.configuration(spec.build()));
        };
        g.fit(new ListDataSetIterator<>(train.asList(), 32), 1); // running statistics and gammas away from their init
        StrBnConversion.Converted c = StrBnConversion.convert(g, AT_MINUS_INFINITY, 0, 0, train.getFeatures().get(
                org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 64)), new Sgd(0.01), 0);
        assertTrue(c.maxOutputDifference() < 1e-5, "at g(s)=0 the outputs differ by " + c.maxOutputDifference());
        double d = g.outputSingle(false, test.getFeatures()).sub(c.graph().outputSingle(false, test.getFeatures())).amaxNumber().doubleValue();
        assertTrue(d < 1e-4, "on other images the outputs differ by " + d);
        if (model.equals("lenet")) {
            assertEquals(List.of("conv1_strbn", "conv2_strbn", "fc1_strbn", "fc2_strbn"), c.inserted());
        } else {
            assertTrue(c.inserted().isEmpty());
            assertTrue(c.graph().getLayer("s2b1_bn1") instanceof StrBatchNormalizationLayer);
        }
        // the trained graph is untouched
        assertTrue(g.getLayer(model.equals("lenet") ? "conv1" : "stem_bn").conf().getLayer().getClass() != StrBatchNormalization.class);
    }

    static ComputationGraph graph(boolean merge) {
        var b = new NeuralNetConfiguration.Builder().updater(new Sgd(0.1)).graphBuilder().addInputs("in")
                .setInputTypes(InputType.convolutional(8, 8, 2))
                .addLayer("c1", new ConvolutionLayer.Builder(3, 3).nOut(4).build(), "in")
                .addLayer("bn1", new BatchNormalization.Builder().build(), "c1");
        if (merge) {
            b.addLayer("c2", new ConvolutionLayer.Builder(3, 3).nOut(4).build(), "in")
                    .addVertex("joined", new MergeVertex(), "bn1", "c2");
        } else {
            b.addLayer("dw", new DepthwiseConvolution2D.Builder(3, 3).depthMultiplier(1).build(), "bn1")
                    .addVertex("joined", new ElementWiseVertex(ElementWiseVertex.Op.Add), "dw", "dw");
        }
        ComputationGraphConfiguration conf = b.addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "joined")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build(), "pool")
                .setOutputs("out").build();
        ComputationGraph g = new ComputationGraph(conf);
        g.init();
        return g;
    }

    @Test
    void unsupportedVerticesAreNamed() {
        DataSet d = new DataSet(org.nd4j.linalg.factory.Nd4j.rand(4, 2, 8, 8), org.nd4j.linalg.factory.Nd4j.eye(4).getColumns(0, 1, 2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StrBnSparsifier.run(graph(true), new ListDataSetIterator<>(d.asList(), 2), StrBnOptions.defaults(),
                        StrBnProgressListener.none()));
        assertTrue(e.getMessage().contains("'joined'") && e.getMessage().contains("MergeVertex"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> StrBnSparsifier.run(graph(false), new ListDataSetIterator<>(d.asList(), 2), StrBnOptions.defaults(),
                        StrBnProgressListener.none()));
        assertTrue(e.getMessage().contains("'dw'") && e.getMessage().contains("DepthwiseConvolution2D"), e.getMessage());
    }

    @Test
    void removalNeedsConvertedGraph() {
        ComputationGraph g = ResNets.init(ResNets.cifar(8, 4, ModelSpec.of(ImageShape.of(1, 28, 28), 10)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StrBnRemoval.remove(g, null));
        assertTrue(e.getMessage().contains("'stem'") && e.getMessage().contains("STR-BN"), e.getMessage());
    }

    @Test
    void optionsValidateAndPrintEverySetting() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StrBnOptions.builder().epochs(0).build());
        assertTrue(e.getMessage().contains("epochs=0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> StrBnOptions.builder().thresholdDecay(-1).build());
        assertTrue(e.getMessage().contains("thresholdDecay"), e.getMessage());
        String s = StrBnOptions.defaults().toString();
        for (String k : new String[] {"epochs=5", "NESTEROVS", "momentum=0.875", "learningRatePer256=0.256", "weightDecay=3.0517578125E-5",
                "thresholdDecay=3.0517578125E-5", "SIGMOID", "initialS=-100.0"}) {
            assertTrue(s.contains(k), k + " in " + s);
        }
        assertEquals(0.032, StrBnOptions.defaults().learningRate(32), 1e-12);
    }
}
