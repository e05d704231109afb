package io.sparsetrain.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.nn.convert.SparseConversion;
import io.sparsetrain.nn.layers.SparseConvolution;
import io.sparsetrain.nn.layers.SparseDense;
import io.sparsetrain.nn.layers.SparseLayer;
import io.sparsetrain.nn.models.ImageShape;
import io.sparsetrain.nn.models.LayerKind;
import io.sparsetrain.nn.models.LeNet5;
import io.sparsetrain.nn.models.ModelSpec;
import io.sparsetrain.nn.models.ResNets;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.method.MagnitudePruner;
import java.util.Set;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/** Stock -> sparse keeps outputs; sparse (pruned) -> stock exports W*M and keeps outputs. */
class SparseConversionTest {

    @Test
    void resnetRoundTrip() {
        ImageShape in = ImageShape.of(2, 10, 10);
        ModelSpec spec = ModelSpec.builder().input(in).numClasses(4).layers(LayerKind.STOCK).build();
        ComputationGraph stock = ResNets.init(ResNets.cifar(8, 4, spec));
        DataSet ds = ModelsTest.data(in, 4, 4);
        stock.fit(ds); // non-trivial BN statistics
        INDArray x = ds.getFeatures();

        ComputationGraph sparse = SparseConversion.toSparse(stock);
        MaskedNetwork mn = MaskedNetwork.of(sparse);
        assertEquals(7 + 2, mn.sparseLayers().size());
        assertInstanceOf(SparseConvolution.class, sparse.getLayer("stem").conf().getLayer());
        assertInstanceOf(io.sparsetrain.nn.layers.FastBatchNormalization.class, sparse.getLayer("stem_bn").conf().getLayer());
        assertTrue(NnTestNets.relDiff(stock.outputSingle(x), sparse.outputSingle(x)) < 1e-4);

        MaskSet.Builder b = MaskSet.builder();
        for (PrunableLayer l : mn.prunableLayers()) {
            b.put(l.name(), new MagnitudePruner().makeMaskWithZeros(l, l.size() / 2));
        }
        mn.applyMasks(b.build());
        ComputationGraph exported = SparseConversion.toStock(sparse);
        assertEquals(0, MaskedNetwork.of(exported).sparseLayers().size());
        assertEquals(org.deeplearning4j.nn.conf.layers.BatchNormalization.class, exported.getLayer("stem_bn").conf().getLayer().getClass());
        assertTrue(NnTestNets.relDiff(sparse.outputSingle(x), exported.outputSingle(x)) < 1e-4);
        for (Layer l : exported.getLayers()) {
            if (mn.sparseLayers().containsKey(l.conf().getLayer().getLayerName())) {
                SparseLayer s = mn.sparseLayers().get(l.conf().getLayer().getLayerName());
                long zeros = l.getParam("W").eq(0).castTo(org.nd4j.linalg.api.buffer.DataType.INT).sumNumber().longValue();
                assertTrue(zeros >= s.maskShape().size() / 2, "exported zeros in " + s.layerName());
            }
        }
        // and back again: the stock export converts to a sparse model with the same outputs
        ComputationGraph again = SparseConversion.toSparse(exported, Set.of("stem"));
        assertInstanceOf(org.deeplearning4j.nn.conf.layers.ConvolutionLayer.class, again.getLayer("stem").conf().getLayer());
        assertTrue(NnTestNets.relDiff(exported.outputSingle(x), again.outputSingle(x)) < 1e-4);
    }

    @Test
    void lenetMultiLayerAndGraph() {
        ImageShape in = ImageShape.of(1, 28, 28);
        ComputationGraph stock = ResNets.init(LeNet5.configuration(ModelSpec.builder().input(in).numClasses(10).layers(LayerKind.STOCK).build()));
        ComputationGraph sparse = SparseConversion.toSparse(stock);
        assertInstanceOf(SparseDense.class, sparse.getLayer("fc1").conf().getLayer());
        INDArray x = ModelsTest.data(in, 10, 3).getFeatures();
        assertTrue(NnTestNets.relDiff(stock.outputSingle(x), sparse.outputSingle(x)) < 1e-4);

        MultiLayerNetwork mln = NnTestNets.single(NnTestNets.stockDense(6, 5, Activation.RELU), InputType.feedForward(6), 3);
        MultiLayerNetwork mlnSparse = SparseConversion.toSparse(mln);
        assertInstanceOf(SparseDense.class, mlnSparse.getLayer(0).conf().getLayer());
        INDArray v = NnTestNets.random(3, 4, 6);
        assertTrue(NnTestNets.relDiff(mln.output(v), mlnSparse.output(v)) < 1e-4);
        MultiLayerNetwork back = SparseConversion.toStock(mlnSparse);
        assertTrue(NnTestNets.relDiff(mln.output(v), back.output(v)) < 1e-4);
    }
}
