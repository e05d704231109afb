package io.sparsetrain.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.kernels.NmFormat;
import io.sparsetrain.nn.layers.SparseConvolution;
import io.sparsetrain.nn.layers.SparseDense;
import io.sparsetrain.nn.layers.SparseLayer;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.nm.NmMagnitudePruner;
import java.io.File;
import java.nio.file.Path;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Adam;
import org.deeplearning4j.nn.conf.WorkspaceMode;

/** Sparse layers survive DL4J's JSON and model zips: configuration, frozen state, weights and masks. */
class SerializationTest {

    @Test
    void multiLayerJsonRoundTrip() {
        MultiLayerNetwork net = NnTestNets.single(NnTestNets.sparseConv(3, 4, 3, 2, 1, Activation.RELU), InputType.convolutional(6, 6, 3), 1);
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        String json = conf.toJson();
        assertTrue(json.contains(SparseConvolution.class.getName()), json);
        MultiLayerConfiguration back = MultiLayerConfiguration.fromJson(json);
        assertEquals(conf, back);
        assertInstanceOf(SparseConvolution.class, back.getConf(0).getLayer());
        assertEquals(json, back.toJson());
    }

    @Test
    void graphJsonRoundTripKeepsFrozenState() {
        ComputationGraph g = MaskTrainingTest.smallGraph(new Adam(1e-3), WorkspaceMode.ENABLED, 3);
        twoFour(MaskedNetwork.of(g));
        MaskedNetwork.of(g).freeze(NmFormat.TWO_FOUR);
        String json = g.getConfiguration().toJson();
        ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(json);
        assertEquals(json, back.toJson());
        assertTrue(json.contains("\"nmM\" : 4"), "N:M format in the JSON");
        SparseConvolution c = (SparseConvolution) ((org.deeplearning4j.nn.conf.graph.LayerVertex) back.getVertices().get("conv2"))
                .getLayerConf().getLayer();
        assertTrue(c.isFrozen());
        assertEquals(NmFormat.TWO_FOUR, c.frozenFormat());
        SparseDense d = (SparseDense) ((org.deeplearning4j.nn.conf.graph.LayerVertex) back.getVertices().get("fc")).getLayerConf().getLayer();
        assertEquals(NmFormat.TWO_FOUR, d.frozenFormat());
    }

    @Test
    void graphModelZipRoundTrip(@TempDir Path dir) throws Exception {
        ComputationGraph g = MaskTrainingTest.smallGraph(new Adam(1e-3), WorkspaceMode.ENABLED, 5);
        var ds = MaskTrainingTest.data(2, 6);
        g.fit(ds);
        MaskedNetwork mn = MaskedNetwork.of(g);
        twoFour(mn);
        g.fit(ds);
        mn.freeze();
        File f = dir.resolve("model.zip").toFile();
        ModelSerializer.writeModel(g, f, true);
        ComputationGraph back = ModelSerializer.restoreComputationGraph(f, true);
        MaskedNetwork mb = MaskedNetwork.of(back);
        assertEquals(mn.masks(), mb.masks());
        assertEquals(mn.maskChecksum(), mb.maskChecksum());
        assertTrue(mb.isFrozen());
        assertEquals(mn.compressedLayers(), mb.compressedLayers());
        assertEquals(g.params(), back.params());
        for (String name : mn.sparseLayers().keySet()) {
            assertTrue(java.util.Arrays.equals(mn.sparseLayers().get(name).weights(), mb.sparseLayers().get(name).weights()), name);
        }
        INDArray x = ds.getFeatures();
        assertTrue(NnTestNets.relDiff(g.outputSingle(x), back.outputSingle(x)) < 1e-6);
        // training continues from the restored updater state identically
        g.fit(ds);
        back.fit(ds);
        assertTrue(NnTestNets.relDiff(g.params(), back.params()) < 1e-5);
    }

    @Test
    void multiLayerModelZipRoundTrip(@TempDir Path dir) throws Exception {
        MultiLayerNetwork net = NnTestNets.single(NnTestNets.sparseDense(12, 8, Activation.TANH), InputType.feedForward(12), 1);
        ((SparseLayer) net.getLayer(0)).setMask(NnTestNets.randomMask(96, 0.5, 3));
        File f = dir.resolve("mln.zip").toFile();
        ModelSerializer.writeModel(net, f, true);
        MultiLayerNetwork back = ModelSerializer.restoreMultiLayerNetwork(f, true);
        assertEquals(MaskedNetwork.of(net).masks(), MaskedNetwork.of(back).masks());
        assertEquals(net.params(), back.params());
    }

    @Test
    void resnetWithFastBatchNormZipRoundTrip(@TempDir Path dir) throws Exception {
        io.sparsetrain.nn.models.ImageShape in = io.sparsetrain.nn.models.ImageShape.of(1, 8, 8);
        ComputationGraph g = io.sparsetrain.nn.models.ResNets.init(io.sparsetrain.nn.models.ResNets.cifar(8, 4,
                io.sparsetrain.nn.models.ModelSpec.of(in, 3)));
        var ds = ModelsTest.data(in, 3, 4);
        g.fit(ds); // moves the running statistics
        twoFour(MaskedNetwork.of(g));
        MaskedNetwork.of(g).freeze();
        File f = dir.resolve("resnet.zip").toFile();
        ModelSerializer.writeModel(g, f, true);
        ComputationGraph back = ModelSerializer.restoreComputationGraph(f, true);
        assertEquals(g.getConfiguration().toJson(), back.getConfiguration().toJson());
        assertEquals(g.params(), back.params());
        assertEquals(MaskedNetwork.of(g).compressedLayers(), MaskedNetwork.of(back).compressedLayers());
        assertTrue(NnTestNets.relDiff(g.outputSingle(ds.getFeatures()), back.outputSingle(ds.getFeatures())) < 1e-6);
    }

    static void twoFour(MaskedNetwork mn) {
        NmMagnitudePruner pruner = new NmMagnitudePruner(2, 4);
        MaskSet.Builder b = MaskSet.builder();
        for (PrunableLayer l : mn.prunableLayers()) {
            b.put(l.name(), pruner.makeMask(l));
        }
        mn.applyMasks(b.build());
    }
}
