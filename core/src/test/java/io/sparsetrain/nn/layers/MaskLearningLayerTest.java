package io.sparsetrain.nn.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.kernels.NmFormat;
import io.sparsetrain.learn.nm.GumbelNmMask;
import io.sparsetrain.nn.MaskedNetwork;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.nm.NmGroupOrder;
import io.sparsetrain.prune.nm.NmMagnitudePruner;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * The mask-learning modes of the sparse layers on a small conv / batch-norm / dense graph: logit gradients
 * against finite differences of the real network, hard masks N:M in every group, frozen parameters unchanged
 * bit for bit while DL4J's own fit trains the logits, JSON/zip round trips, the learned mask on an updated copy,
 * and the threshold mode's straight-through gradient.
 */
class MaskLearningLayerTest {

    static final int CLASSES = 3;

    /** conv (2 -> 6 channels, 3x3: K = 18, a padded last 2:4 group) / BN / relu / conv / dense / softmax. */
    static ComputationGraph trainedGraph(long seed) {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.FLOAT)
                .weightInit(WeightInit.RELU).updater(new Nesterovs(0.05, 0.9)).l2(1e-4)
                .graphBuilder().addInputs("in")
                .addLayer("conv1", new SparseConvolution.Builder(3, 3).nOut(6).padding(1, 1)
                        .convolutionMode(ConvolutionMode.Truncate).activation(Activation.IDENTITY).build(), "in")
                .addLayer("bn1", new FastBatchNormalization.Builder().build(), "conv1")
                .addLayer("relu1", new ActivationLayer(Activation.RELU), "bn1")
                .addLayer("conv2", new SparseConvolution.Builder(3, 3).nOut(8).stride(2, 2).padding(1, 1)
                        .convolutionMode(ConvolutionMode.Truncate).activation(Activation.RELU).build(), "relu1")
                .addLayer("fc", new SparseDense.Builder().nOut(12).activation(Activation.TANH).build(), "conv2")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES)
                        .activation(Activation.SOFTMAX).build(), "fc")
                .setOutputs("out").setInputTypes(InputType.convolutional(8, 8, 2)).build();
        ComputationGraph g = new ComputationGraph(conf);
        g.init();
        DataSet d = data(seed, 16);
        for (int i = 0; i < 5; i++) {
            g.fit(d); // trained weights and non-trivial BN statistics
        }
        return g;
    }

    static DataSet data(long seed, int batch) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.rand(DataType.FLOAT, batch, 2, 8, 8).subi(0.5);
        INDArray y = Nd4j.zeros(DataType.FLOAT, batch, CLASSES);
        Random r = new Random(seed);
        for (int i = 0; i < batch; i++) {
            y.putScalar(i, r.nextInt(CLASSES), 1);
        }
        return new DataSet(x, y);
    }

    static Map<String, float[]> frozenParams(ComputationGraph g) {
        Map<String, float[]> out = new HashMap<>();
        for (Layer l : g.getLayers()) {
            for (Map.Entry<String, INDArray> p : l.paramTable().entrySet()) {
                if (!p.getKey().equals(SparseLayerConfig.LOGITS_KEY) && !p.getKey().equals(SparseLayerConfig.THRESHOLD_KEY)) {
                    out.put(l.conf().getLayer().getLayerName() + "_" + p.getKey(), p.getValue().dup().data().asFloat());
                }
            }
        }
        return out;
    }

    static ComputationGraph learnedNm(ComputationGraph trained, boolean noise, boolean straightThrough) {
        ComputationGraph g = MaskLearningGraphs.prepare(trained,
                MaskLearning.learnedNm(2, 4, 1.0, straightThrough).withGumbelNoise(noise), new Adam(0.05), n -> true);
        for (MaskLearningLayer l : MaskLearningGraphs.learningLayers(g)) {
            l.initLogits(GumbelNmMask.builder().nm(2, 4).init(GumbelNmMask.Init.MAGNITUDE).magnitudeScale(2).build());
        }
        return g;
    }

    @Test
    void logitGradientsMatchFiniteDifferencesOfTheRealNetwork() {
        ComputationGraph g = learnedNm(trainedGraph(1), true, false);
        DataSet d = data(2, 6);
        List<MaskLearningLayer> layers = MaskLearningGraphs.learningLayers(g);
        assertEquals(List.of("conv1", "conv2", "fc"), layers.stream().map(SparseLayer::layerName).toList());
        layers.forEach(l -> l.setNoiseStep(0));
        g.setInputs(d.getFeatures());
        g.setLabels(d.getLabels());
        g.computeGradientAndScore();
        int checked = 0;
        for (MaskLearningLayer l : layers) {
            float[] grad = l.learnedGradient();
            for (int i = 0; i < grad.length; i++) {
                grad[i] /= d.numExamples(); // DL4J gradients are minibatch sums, the score a mean
            }
            float[] a = l.learnedParams();
            double max = 0;
            for (float v : grad) {
                max = Math.max(max, Math.abs(v));
            }
            assertTrue(max > 0, l.layerName() + ": logit gradient is all zero");
            int perLayer = 0;
            for (int i = 0; i < a.length && perLayer < 12; i++) {
                if (Math.abs(grad[i]) < 0.2 * max) {
                    continue;
                }
                double eps = 1e-2;
                double[] s = new double[2];
                for (int k = 0; k < 2; k++) {
                    float[] p = a.clone();
                    p[i] += (float) (k == 0 ? eps : -eps);
                    l.setLearnedParams(p);
                    layers.forEach(x -> x.setNoiseStep(0)); // the same Gumbel sample as the analytic pass
                    s[k] = g.score(d, true);
                }
                l.setLearnedParams(a);
                double numeric = (s[0] - s[1]) / (2 * eps);
                assertEquals(numeric, grad[i], 0.03 * Math.abs(numeric) + 2e-4,
                        l.layerName() + " logit " + i + ": analytic " + grad[i] + ", numeric " + numeric);
                perLayer++;
                checked++;
            }
            assertTrue(perLayer >= 3, l.layerName() + ": only " + perLayer + " logits checked");
        }
        assertTrue(checked >= 9);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void dl4jFitTrainsOnlyTheLogitsAndTheHardMasksAreNmInEveryGroup(boolean straightThrough) {
        ComputationGraph trained = trainedGraph(3);
        ComputationGraph g = learnedNm(trained, true, straightThrough);
        Map<String, float[]> before = frozenParams(g);
        float[] logits0 = MaskLearningGraphs.learnedVector(g);
        MaskSet masks0 = MaskLearningGraphs.learnedMasks(g);
        DataSet d = data(4, 16);
        for (int i = 0; i < 8; i++) {
            g.fit(d);
        }
        Map<String, float[]> after = frozenParams(g);
        assertEquals(before.keySet(), after.keySet());
        for (String k : before.keySet()) {
            assertArrayEquals(before.get(k), after.get(k), k + " changed while only the mask logits train");
        }
        assertFalse(java.util.Arrays.equals(logits0, MaskLearningGraphs.learnedVector(g)), "the logits trained");
        MaskSet masks = MaskLearningGraphs.learnedMasks(g);
        assertFalse(masks.equals(masks0), "some pattern changed");
        for (String name : masks.names()) {
            Mask m = masks.get(name);
            assertTrue(NmMagnitudePruner.satisfiesNm(m, 2, 4), name);
            int k = m.shape().k();
            for (int r = 0; r < m.shape().outputs(); r++) {
                for (int g0 = 0; g0 < k; g0 += 4) {
                    int kept = 0;
                    for (int j = g0; j < Math.min(k, g0 + 4); j++) {
                        kept += m.isKept(r, j) ? 1 : 0;
                    }
                    assertEquals(Math.min(2, k - g0), kept, name + " row " + r + " group " + g0 / 4);
                }
            }
        }
        // inference uses exactly W * hard mask: same outputs as a fixed-mask copy holding the learned masks
        ComputationGraph fixed = trained.clone();
        MaskedNetwork.of(fixed).applyMasks(masks);
        INDArray x = data(5, 4).getFeatures();
        INDArray a = g.outputSingle(false, x);
        INDArray b = fixed.outputSingle(false, x);
        assertTrue(a.equalsWithEps(b, 1e-5), a + " vs " + b);
    }

    @Test
    void learnedMasksApplyToAnUpdatedCopyAndFreezeOnTheCompressedKernels() {
        ComputationGraph trained = trainedGraph(6);
        ComputationGraph g = learnedNm(trained, true, false);
        g.fit(data(7, 16));
        MaskSet masks = MaskLearningGraphs.learnedMasks(g);
        // another copy of the same model whose weights moved on (e.g. more training elsewhere)
        ComputationGraph updated = trained.clone();
        updated.fit(data(8, 16));
        Map<String, float[]> w = new HashMap<>();
        MaskedNetwork net = MaskedNetwork.of(updated);
        net.sparseLayers().forEach((n, l) -> w.put(n, l.weights()));
        net.applyMasks(masks);
        net.freeze(NmFormat.TWO_FOUR);
        assertEquals(List.of("conv1", "conv2", "fc"), net.compressedLayers());
        assertEquals(masks, net.masks());
        net.sparseLayers().forEach((n, l) -> {
            float[] expected = w.get(n).clone();
            masks.get(n).applyTo(expected);
            assertArrayEquals(expected, l.weights(), n + ": updated weights times the learned mask");
        });
        // a mask of another shape is refused, naming the layer
        MaskSet wrong = MaskSet.builder().put("conv1", Mask.allKept(io.sparsetrain.prune.LayerShape.conv(6, 3, 3, 3))).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MaskedNetwork.of(trained.clone()).applyMasks(wrong));
        assertTrue(e.getMessage().contains("conv1"), e.getMessage());
    }

    @Test
    void channelWiseGroupsLearnRoundTripAndFreeze() throws Exception {
        ComputationGraph trained = trainedGraph(12);
        ComputationGraph g = MaskLearningGraphs.prepare(trained,
                MaskLearning.learnedNm(2, 4, 1.0, false).withGroupOrder(NmGroupOrder.CHANNEL), new Adam(0.05), n -> true);
        for (MaskLearningLayer l : MaskLearningGraphs.learningLayers(g)) {
            l.initLogits(GumbelNmMask.builder().nm(2, 4).init(GumbelNmMask.Init.MAGNITUDE).magnitudeScale(2)
                    .groupOrder(NmGroupOrder.CHANNEL).build());
        }
        // the logit config must match the layer's order
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MaskLearningGraphs
                .learningLayers(g).get(0).initLogits(GumbelNmMask.builder().nm(2, 4).build()));
        assertTrue(e.getMessage().contains("channel-wise"), e.getMessage());
        g.fit(data(13, 16));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ModelSerializer.writeModel(g, bytes, false);
        ComputationGraph back = ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(bytes.toByteArray()), false);
        assertTrue(back.getConfiguration().toJson().contains("CHANNEL"));
        assertEquals(NmGroupOrder.CHANNEL, MaskLearningGraphs.learningLayers(back).get(0).maskLearning().getGroupOrder());
        MaskSet masks = MaskLearningGraphs.learnedMasks(back);
        assertEquals(MaskLearningGraphs.learnedMasks(g), masks);
        boolean someLayerDiffers = false;
        for (Map.Entry<String, Mask> m : masks.asMap().entrySet()) {
            Mask mask = m.getValue();
            assertTrue(NmMagnitudePruner.satisfiesNm(mask, 2, 4, NmGroupOrder.CHANNEL), m.getKey());
            someLayerDiffers |= NmGroupOrder.CHANNEL.permutes(mask.shape())
                    && !NmMagnitudePruner.satisfiesNm(mask, 2, 4);
        }
        assertTrue(someLayerDiffers, "a 3x3 layer's channel-wise mask is not 2:4 along K");
        // applied to the trained model and frozen: every layer on the compressed kernels, the 3x3 convolutions in
        // the channel-major K order, with the outputs of the same masks on the dense path
        ComputationGraph frozen = trained.clone();
        MaskedNetwork net = MaskedNetwork.of(frozen);
        net.applyMasks(masks);
        net.freeze(NmFormat.TWO_FOUR);
        assertEquals(masks.names().size(), net.compressedLayers().size());
        ComputationGraph densePath = trained.clone();
        MaskedNetwork.of(densePath).applyMasks(masks);
        MaskedNetwork.of(densePath).freeze((NmFormat) null);
        for (Map.Entry<String, Mask> m : masks.asMap().entrySet()) {
            boolean alongK = NmMagnitudePruner.satisfiesNm(m.getValue(), 2, 4);
            assertEquals(alongK ? NmGroupOrder.KERNEL : NmGroupOrder.CHANNEL,
                    net.sparseLayers().get(m.getKey()).frozenGroupOrder(), m.getKey());
        }
        INDArray x = data(14, 5).getFeatures();
        INDArray a = densePath.outputSingle(false, x);
        INDArray b = frozen.outputSingle(false, x);
        assertTrue(a.sub(b).norm2Number().doubleValue() <= 1e-4 * a.norm2Number().doubleValue(), a + " vs " + b);
    }

    @Test
    void learningGraphsRoundTripThroughModelZips() throws Exception {
        ComputationGraph g = learnedNm(trainedGraph(9), true, true);
        MaskLearningGraphs.learningLayers(g).forEach(l -> l.setTemperature(0.5));
        g.fit(data(10, 16));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ModelSerializer.writeModel(g, bytes, false);
        ComputationGraph back = ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(bytes.toByteArray()), false);
        assertEquals(g.getConfiguration().toJson(), back.getConfiguration().toJson());
        assertTrue(g.getConfiguration().toJson().contains("LEARNED_NM"));
        MaskLearningLayer l = MaskLearningGraphs.learningLayers(back).get(0);
        assertEquals(MaskLearning.learnedNm(2, 4, 0.5, true), l.maskLearning());
        assertArrayEquals(MaskLearningGraphs.learnedVector(g), MaskLearningGraphs.learnedVector(back));
        assertEquals(MaskLearningGraphs.learnedMasks(g), MaskLearningGraphs.learnedMasks(back));
        INDArray x = data(11, 4).getFeatures();
        assertEquals(g.outputSingle(false, x), back.outputSingle(false, x));

        ComputationGraph t = MaskLearningGraphs.prepare(trainedGraph(9), MaskLearning.threshold(0.01, false), new Adam(0.01), n -> true);
        bytes.reset();
        ModelSerializer.writeModel(t, bytes, false);
        ComputationGraph tb = ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(bytes.toByteArray()), false);
        assertEquals(MaskMode.THRESHOLD, MaskLearningGraphs.learningLayers(tb).get(1).maskMode());
    }

    /**
     * Training passes of the learning graph normalise with the dense model's running statistics (default) or, with
     * batchStatistics, with each minibatch's own, exactly as a training pass of the original network does. With
     * every threshold at 0 the learning graph is the dense model, so its outputs must equal the original's.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void batchNormUsesRunningOrMinibatchStatisticsInTrainingPassesAsChosen(boolean batchStatistics) {
        ComputationGraph trained = trainedGraph(14);
        ComputationGraph g = MaskLearningGraphs.prepare(trained, MaskLearning.threshold(0.01, false), new Adam(0.01),
                n -> true, batchStatistics);
        for (MaskLearningLayer l : MaskLearningGraphs.learningLayers(g)) {
            l.setLearnedParams(new float[] {0f});
        }
        INDArray x = data(15, 8).getFeatures();
        INDArray learningTrain = g.output(true, x)[0];
        INDArray originalTrain = trained.clone().output(true, x)[0];
        INDArray originalInference = trained.output(false, x)[0];
        assertFalse(originalTrain.equalsWithEps(originalInference, 1e-3), "the fixture's batch and running statistics differ");
        assertTrue(learningTrain.equalsWithEps(batchStatistics ? originalTrain : originalInference, 1e-5),
                "training pass of the learning graph, batchStatistics=" + batchStatistics);
        assertTrue(g.output(false, x)[0].equalsWithEps(originalInference, 1e-5), "inference uses the running statistics");
    }

    @Test
    void thresholdModeMasksByMagnitudeAndItsStraightThroughGradientIsTheSmoothedStepDerivative() {
        ComputationGraph trained = trainedGraph(12);
        double h = 0.02;
        ComputationGraph g = MaskLearningGraphs.prepare(trained, MaskLearning.threshold(h, false), new Adam(0.01), n -> true);
        Map<String, float[]> before = frozenParams(g);
        DataSet d = data(13, 8);
        for (MaskLearningLayer l : MaskLearningGraphs.learningLayers(g)) {
            float[] w = l.weights();
            float[] abs = new float[w.length];
            for (int i = 0; i < w.length; i++) {
                abs[i] = Math.abs(w[i]);
            }
            java.util.Arrays.sort(abs);
            l.setLearnedParams(new float[] {abs[w.length / 2]}); // about half pruned
            Mask m = l.learnedMask();
            for (int i = 0; i < w.length; i++) {
                assertEquals(Math.abs(w[i]) > abs[w.length / 2], m.isKept(i));
            }
        }
        g.setInputs(d.getFeatures());
        g.setLabels(d.getLabels());
        g.computeGradientAndScore();
        // a fixed-mask twin holding W * m with an all-ones mask (and the same frozen batch-norm statistics)
        // gives dL/d(W * m) at every position
        ComputationGraph twin = trained.clone();
        ((FastBatchNormalization) twin.getLayer("bn1").conf().getLayer()).setFrozenStatistics(true);
        MaskedNetwork tn = MaskedNetwork.of(twin);
        for (MaskLearningLayer l : MaskLearningGraphs.learningLayers(g)) {
            SparseLayer t = tn.sparseLayers().get(l.layerName());
            float[] w = l.weights();
            l.learnedMask().applyTo(w);
            Layer dl = (Layer) t;
            NdFloats.write(w, dl.getParam("W"), l instanceof SparseDenseLayer ? 'f' : 'c');
        }
        twin.setInputs(d.getFeatures());
        twin.setLabels(d.getLabels());
        twin.computeGradientAndScore();
        assertTrue(g.outputSingle(false, d.getFeatures()).equalsWithEps(twin.outputSingle(false, d.getFeatures()), 1e-5));
        for (MaskLearningLayer l : MaskLearningGraphs.learningLayers(g)) {
            float[] dEff = NdFloats.read(twin.gradient().getGradientFor(l.layerName() + "_W"), l instanceof SparseDenseLayer ? 'f' : 'c');
            float[] w = l.weights();
            float t = l.learnedParams()[0];
            double expected = 0;
            for (int i = 0; i < w.length; i++) {
                double z = (Math.abs(w[i]) - t) / h;
                expected -= dEff[i] * w[i] * Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI) / h;
            }
            assertEquals(expected, l.learnedGradient()[0], 1e-4 * Math.max(1, Math.abs(expected)), l.layerName());
        }
        for (int i = 0; i < 3; i++) {
            g.fit(d);
        }
        Map<String, float[]> after = frozenParams(g);
        for (String k : before.keySet()) {
            assertArrayEquals(before.get(k), after.get(k), k + " changed while only the thresholds train");
        }
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> MaskLearningGraphs.learningLayers(g).get(0).setMask(new float[108]));
        assertTrue(e.getMessage().contains("conv1"), e.getMessage());
    }
}
