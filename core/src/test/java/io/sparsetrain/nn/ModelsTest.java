package io.sparsetrain.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.nn.layers.SparseConvolution;
import io.sparsetrain.nn.layers.SparseLayer;
import io.sparsetrain.nn.models.ImageShape;
import io.sparsetrain.nn.models.LayerKind;
import io.sparsetrain.nn.models.LeNet5;
import io.sparsetrain.nn.models.ModelSpec;
import io.sparsetrain.nn.models.ResNets;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/** The model builders produce trainable graphs of the right shape on sparse layers. */
class ModelsTest {

    static DataSet data(ImageShape s, int classes, int batch) {
        Nd4j.getRandom().setSeed(1);
        INDArray x = Nd4j.rand(DataType.FLOAT, batch, s.channels(), s.height(), s.width());
        INDArray y = Nd4j.zeros(DataType.FLOAT, batch, classes);
        for (int i = 0; i < batch; i++) {
            y.putScalar(i, i % classes, 1f);
        }
        return new DataSet(x, y);
    }

    @Test
    void resnet20HasTheStandardLayout() {
        ComputationGraphConfiguration conf = ResNets.cifar(20, ModelSpec.of(ImageShape.of(3, 32, 32), 10));
        long convs = conf.getVertices().values().stream()
                .filter(v -> v instanceof LayerVertex lv && lv.getLayerConf().getLayer() instanceof SparseConvolution).count();
        assertEquals(19 + 2, convs, "19 convolutions + 2 projection shortcuts");
        ComputationGraph g = ResNets.init(conf);
        // 0.27M weights of ResNet-20 (He et al.), counted without masks and BN statistics
        long weights = MaskedNetwork.of(g).prunableLayers().stream().mapToLong(l -> l.size()).sum();
        assertTrue(weights > 265_000 && weights < 275_000, "conv weights " + weights);
    }

    @Test
    void tinyResNetTrainsOnOddInput() {
        ImageShape in = ImageShape.of(1, 11, 9);
        ModelSpec spec = ModelSpec.builder().input(in).numClasses(3).build();
        ComputationGraph g = ResNets.init(ResNets.cifar(8, 4, spec));
        DataSet ds = data(in, 3, 4);
        double before = g.score(ds);
        for (int i = 0; i < 5; i++) {
            g.fit(ds);
        }
        assertArrayEquals(new long[] {4, 3}, g.outputSingle(ds.getFeatures()).shape());
        assertTrue(g.score(ds) < before, "loss went down: " + before + " -> " + g.score(ds));
    }

    @Test
    void resnet32And56Depths() {
        ModelSpec spec = ModelSpec.of(ImageShape.of(1, 28, 28), 10);
        assertEquals(31 + 2, countConvs(ResNets.cifar(32, spec)));
        assertEquals(55 + 2, countConvs(ResNets.cifar(56, spec)));
        assertThrows(IllegalArgumentException.class, () -> ResNets.cifar(21, spec));
    }

    @Test
    void resnet18ForwardOnSmallInput() {
        ImageShape in = ImageShape.of(3, 16, 16);
        ComputationGraph g = ResNets.resnet18(in, 5);
        assertEquals(17 + 3, MaskedNetwork.of(g).sparseLayers().size());
        assertArrayEquals(new long[] {1, 5}, g.outputSingle(data(in, 5, 1).getFeatures()).shape());
    }

    @Test
    void imagenetStemAndResNet50Configuration() {
        ModelSpec big = ModelSpec.of(ImageShape.of(3, 224, 224), 1000);
        assertTrue(!big.smallInputStem());
        ComputationGraphConfiguration r18 = ResNets.imagenet(18, big);
        assertTrue(r18.getVertices().containsKey("stem_pool"));
        assertEquals(1000, r18.getLayerActivationTypes(org.deeplearning4j.nn.conf.inputs.InputType.convolutional(224, 224, 3))
                .get("output").arrayElementsPerExample());
        ComputationGraphConfiguration r50 = ResNets.imagenet(50, ModelSpec.of(ImageShape.of(3, 64, 64), 10));
        assertEquals(49 + 4, countConvs(r50));
    }

    @Test
    void lenet5TrainsOnMnistShape() {
        ImageShape in = ImageShape.of(1, 28, 28);
        ComputationGraph g = LeNet5.build(in, 10);
        MaskedNetwork mn = MaskedNetwork.of(g);
        assertEquals(java.util.List.of("conv1", "conv2", "fc1", "fc2"), java.util.List.copyOf(mn.sparseLayers().keySet()));
        DataSet ds = data(in, 10, 8);
        g.fit(ds);
        assertArrayEquals(new long[] {8, 10}, g.outputSingle(ds.getFeatures()).shape());
        ComputationGraph stock = ResNets.init(LeNet5.configuration(ModelSpec.builder().input(in).numClasses(10).layers(LayerKind.STOCK).build()));
        assertEquals(0, MaskedNetwork.of(stock).sparseLayers().size());
        assertTrue(mn.sparseLayers().values().stream().allMatch(l -> l instanceof SparseLayer));
    }

    static long countConvs(ComputationGraphConfiguration conf) {
        return conf.getVertices().values().stream()
                .filter(v -> v instanceof LayerVertex lv && lv.getLayerConf().getLayer() instanceof SparseConvolution).count();
    }
}
