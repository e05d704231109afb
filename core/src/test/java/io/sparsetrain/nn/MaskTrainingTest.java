package io.sparsetrain.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.nn.layers.SparseConvolution;
import io.sparsetrain.nn.layers.SparseConvolutionLayer;
import io.sparsetrain.nn.layers.SparseDense;
import io.sparsetrain.nn.layers.SparseDenseLayer;
import io.sparsetrain.nn.layers.SparseLayer;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.method.MagnitudePruner;
import java.util.stream.Stream;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Pruned weights never come back: a small conv/BN/dense ComputationGraph trains densely (so the
 * updater holds momentum / Adam moments for every weight), gets 60% magnitude masks through
 * {@link MaskedNetwork}, and trains on. With SGD-momentum (Nesterovs) and Adam, under both workspace
 * modes, every masked weight stays exactly 0, the masks are unchanged, kept weights keep learning,
 * and the backward pass reuses its forward pass (no recomputation).
 */
class MaskTrainingTest {

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(new Nesterovs(0.05, 0.9), WorkspaceMode.ENABLED),
                Arguments.of(new Nesterovs(0.05, 0.9), WorkspaceMode.NONE),
                Arguments.of(new Adam(1e-2), WorkspaceMode.ENABLED),
                Arguments.of(new Adam(1e-2), WorkspaceMode.NONE));
    }

    static ComputationGraph smallGraph(IUpdater updater, WorkspaceMode ws, long seed) {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.FLOAT)
                .weightInit(WeightInit.RELU).updater(updater).l2(1e-4)
                .trainingWorkspaceMode(ws).inferenceWorkspaceMode(ws)
                .graphBuilder().addInputs("in")
                .addLayer("conv1", new SparseConvolution.Builder(3, 3).nOut(8).padding(1, 1)
                        .convolutionMode(ConvolutionMode.Truncate).activation(Activation.IDENTITY).build(), "in")
                .addLayer("bn1", new BatchNormalization.Builder().build(), "conv1")
                .addLayer("relu1", new ActivationLayer(Activation.RELU), "bn1")
                .addLayer("conv2", new SparseConvolution.Builder(3, 3).nOut(12).stride(2, 2).padding(1, 1)
                        .convolutionMode(ConvolutionMode.Truncate).activation(Activation.RELU).build(), "relu1")
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "conv2")
                .addLayer("fc", new SparseDense.Builder().nOut(16).activation(Activation.RELU).build(), "pool")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(4)
                        .activation(Activation.SOFTMAX).build(), "fc")
                .setOutputs("out").setInputTypes(InputType.convolutional(8, 8, 2)).build();
        ComputationGraph g = new ComputationGraph(conf);
        g.init();
        return g;
    }

    static DataSet data(long seed, int batch) {
        Nd4j.getRandom().setSeed(seed);
        var x = Nd4j.rand(DataType.FLOAT, batch, 2, 8, 8);
        var y = Nd4j.zeros(DataType.FLOAT, batch, 4);
        for (int i = 0; i < batch; i++) {
            y.putScalar(i, i % 4, 1f);
        }
        return new DataSet(x, y);
    }

    @ParameterizedTest(name = "{0} workspaces={1}")
    @MethodSource("cases")
    void prunedWeightsStayZero(IUpdater updater, WorkspaceMode ws) {
        ComputationGraph g = smallGraph(updater, ws, 42);
        MaskedNetwork mn = MaskedNetwork.of(g).withMaskEnforcement();
        assertEquals(3, mn.sparseLayers().size());
        DataSet ds = data(1, 8);
        for (int i = 0; i < 3; i++) {
            g.fit(ds);
        }
        MaskSet.Builder b = MaskSet.builder();
        MagnitudePruner pruner = new MagnitudePruner();
        for (PrunableLayer l : mn.prunableLayers()) {
            b.put(l.name(), pruner.makeMaskWithZeros(l, (int) (0.6 * l.size())));
        }
        MaskSet masks = b.build();
        mn.applyMasks(masks);
        String checksum = mn.maskChecksum();
        float[][] before = mn.sparseLayers().values().stream().map(SparseLayer::weights).toArray(float[][]::new);
        for (int i = 0; i < 6; i++) {
            g.fit(ds);
            assertMaskedZero(mn, masks);
        }
        assertEquals(masks, mn.masks());
        assertEquals(checksum, mn.maskChecksum());
        int li = 0;
        for (SparseLayer l : mn.sparseLayers().values()) {
            float[] after = l.weights();
            int changed = 0;
            Mask m = masks.get(l.layerName());
            for (int i = 0; i < after.length; i++) {
                changed += m.isKept(i) && after[i] != before[li][i] ? 1 : 0;
            }
            assertTrue(changed > m.keptCount() / 2, l.layerName() + ": only " + changed + " kept weights changed");
            li++;
        }
        for (Layer l : g.getLayers()) {
            if (l instanceof SparseConvolutionLayer c) {
                assertEquals(0, c.recomputedForwards(), l.conf().getLayer().getLayerName() + " recomputed its forward pass");
            }
            if (l instanceof SparseDenseLayer d) {
                assertEquals(0, d.recomputedForwards(), "fc recomputed its forward pass");
            }
        }
        // frozen masks cannot change, and freezing keeps training exact
        mn.freeze();
        assertTrue(mn.isFrozen());
        g.fit(ds);
        assertMaskedZero(mn, masks);
        MaskSet other = MaskSet.builder().put("fc", Mask.allKept(mn.sparseLayers().get("fc").maskShape())).build();
        assertThrows(IllegalStateException.class, () -> mn.applyMasks(other));
        assertNotEquals(0.0, g.score());
    }

    /**
     * What DL4J Spark's parameter averaging does with the mask parameter: two workers with the same
     * masks train on different data, the driver averages the flat parameter vectors, and the result
     * has the same masks (checksum) and zeros at every pruned weight.
     */
    @org.junit.jupiter.api.Test
    void parameterAveragingKeepsMasks() {
        ComputationGraph driver = smallGraph(new Adam(1e-2), WorkspaceMode.ENABLED, 7);
        MaskedNetwork md = MaskedNetwork.of(driver);
        MaskSet.Builder b = MaskSet.builder();
        for (PrunableLayer l : md.prunableLayers()) {
            b.put(l.name(), new MagnitudePruner().makeMaskWithZeros(l, l.size() / 2));
        }
        MaskSet masks = b.build();
        md.applyMasks(masks);
        ComputationGraph w1 = driver.clone();
        ComputationGraph w2 = driver.clone();
        MaskedNetwork.of(w1).withMaskEnforcement();
        MaskedNetwork.of(w2).withMaskEnforcement();
        for (int i = 0; i < 3; i++) {
            w1.fit(data(10 + i, 8));
            w2.fit(data(20 + i, 8));
        }
        assertNotEquals(w1.params(), w2.params());
        driver.setParams(w1.params().add(w2.params()).divi(2));
        assertEquals(masks, md.masks());
        assertEquals(MaskedNetwork.of(w1).maskChecksum(), md.maskChecksum());
        assertMaskedZero(md, masks);
    }

    static void assertMaskedZero(MaskedNetwork mn, MaskSet masks) {
        for (SparseLayer l : mn.sparseLayers().values()) {
            float[] w = l.weights();
            Mask m = masks.get(l.layerName());
            for (int i = 0; i < w.length; i++) {
                if (!m.isKept(i)) {
                    assertTrue(w[i] == 0f, l.layerName() + ": pruned weight " + i + " came back as " + w[i]);
                }
            }
        }
    }
}
