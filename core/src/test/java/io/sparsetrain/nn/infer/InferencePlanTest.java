package io.sparsetrain.nn.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.kernels.NmFormat;
import io.sparsetrain.nn.MaskedNetwork;
import io.sparsetrain.nn.models.ImageShape;
import io.sparsetrain.nn.models.LayerKind;
import io.sparsetrain.nn.models.LeNet5;
import io.sparsetrain.nn.models.ModelSpec;
import io.sparsetrain.nn.models.ResNets;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.nm.NmGroupOrder;
import io.sparsetrain.prune.nm.NmMagnitudePruner;
import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

class InferencePlanTest {

    private static final double TOL = 1e-4;

    /** A narrow ResNet-8 trained a few steps, so that the batch norms hold non-trivial running statistics. */
    private static ComputationGraph trainedResNet(ImageShape in, LayerKind kind) {
        ModelSpec spec = ModelSpec.builder().input(in).numClasses(3).layers(kind).build();
        ComputationGraph g = ResNets.init(ResNets.cifar(8, 8, spec));
        DataSet ds = data(in, 3, 6, 1);
        for (int i = 0; i < 4; i++) {
            g.fit(ds);
        }
        return g;
    }

    private static DataSet data(ImageShape in, int classes, int n, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, n, in.channels(), in.height(), in.width());
        INDArray y = Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, n, classes);
        Random r = new Random(seed);
        for (int i = 0; i < n; i++) {
            y.putScalar(i, r.nextInt(classes), 1f);
        }
        return new DataSet(x, y);
    }

    /** Largest |a - b| over max |b|, the graph's output being b. */
    private static double relError(INDArray a, INDArray b) {
        assertArrayEquals(b.shape(), a.shape());
        double scale = Math.max(1e-6, b.amaxNumber().doubleValue());
        return a.sub(b).amaxNumber().doubleValue() / scale;
    }

    private static void assertSameOutputs(ComputationGraph g, InferencePlan plan, ImageShape in, int batch, long seed) {
        INDArray x = data(in, 3, batch, seed).getFeatures();
        INDArray expected = g.outputSingle(false, x);
        INDArray actual = plan.output(x);
        double err = relError(actual, expected);
        assertTrue(err <= TOL, "plan vs graph output: relative error " + err);
    }

    private static void applyTwoFour(ComputationGraph g, NmGroupOrder order) {
        MaskedNetwork mn = MaskedNetwork.of(g);
        NmMagnitudePruner pruner = new NmMagnitudePruner(2, 4, order);
        MaskSet.Builder b = MaskSet.builder();
        for (PrunableLayer l : mn.prunableLayers()) {
            b.put(l.name(), pruner.makeMask(l));
        }
        mn.applyMasks(b.build());
    }

    @Test
    void denseResNetMatchesTheGraphWithBatchNormFoldedAndReluFused() {
        ImageShape in = ImageShape.of(1, 12, 12);
        ComputationGraph g = trainedResNet(in, LayerKind.SPARSE);
        InferencePlan plan = InferencePlan.compile(g);
        for (int batch : new int[] {1, 3}) {
            assertSameOutputs(g, plan, in, batch, 7 + batch);
        }
        List<String> steps = plan.describe();
        // every conv of a ResNet is followed by a batch norm: all folded, no standalone batch-norm step
        assertTrue(steps.stream().noneMatch(s -> s.contains("per-channel affine")), String.join("\n", steps));
        assertTrue(steps.stream().anyMatch(s -> s.startsWith("stem: conv") && s.contains("+ bn stem_bn folded + relu")),
                String.join("\n", steps));
        assertTrue(steps.stream().anyMatch(s -> s.contains("add of 2 + relu")), String.join("\n", steps));
        assertEquals(0, plan.compressedConvolutions());
    }

    @ParameterizedTest
    @EnumSource(NmGroupOrder.class)
    void frozenTwoFourResNetRunsCompressedAndMatchesTheGraph(NmGroupOrder order) {
        ImageShape in = ImageShape.of(1, 12, 12);
        ComputationGraph g = trainedResNet(in, LayerKind.SPARSE);
        applyTwoFour(g, order);
        MaskedNetwork mn = MaskedNetwork.of(g);
        // freeze every layer whose mask is 2:4 in this order (the 1x1 projections and the stem may not be)
        mn.freeze(NmFormat.TWO_FOUR);
        InferencePlan plan = InferencePlan.compile(g);
        assertEquals(mn.compressedLayers().stream().filter(n -> !n.startsWith("output")).count(), plan.compressedConvolutions(),
                String.join("\n", plan.describe()));
        assertTrue(plan.compressedConvolutions() >= 6, String.join("\n", plan.describe()));
        if (order == NmGroupOrder.CHANNEL) {
            assertTrue(plan.describe().stream().anyMatch(s -> s.contains("channel-wise groups")), String.join("\n", plan.describe()));
        }
        for (int batch : new int[] {1, 4}) {
            assertSameOutputs(g, plan, in, batch, 20 + batch);
        }
    }

    /**
     * The steps reuse their output arrays from one run to the next (per thread): results of earlier runs stay as they
     * were, runs of another batch size and runs on other threads at the same time give the graph's outputs.
     */
    @Test
    void reusedStepOutputsLeakNeitherBetweenRunsNorBetweenThreads() throws Exception {
        ImageShape in = ImageShape.of(1, 12, 12);
        ComputationGraph g = trainedResNet(in, LayerKind.SPARSE);
        applyTwoFour(g, NmGroupOrder.KERNEL);
        MaskedNetwork.of(g).freeze(NmFormat.TWO_FOUR);
        InferencePlan plan = InferencePlan.compile(g);
        int[] batches = {3, 3, 2, 3};
        float[][] inputs = new float[batches.length][];
        float[][] expected = new float[batches.length][];
        for (int i = 0; i < batches.length; i++) {
            INDArray x = data(in, 3, batches[i], 40 + i).getFeatures();
            inputs[i] = x.dup('c').data().asFloat();
            expected[i] = g.outputSingle(false, x).dup('c').data().asFloat();
        }
        float[][] outputs = new float[batches.length][];
        for (int i = 0; i < batches.length; i++) {
            outputs[i] = plan.output(inputs[i], batches[i], 1, 12, 12);
        }
        for (int i = 0; i < batches.length; i++) {
            assertClose(expected[i], outputs[i], "run " + i + " (batch " + batches[i] + "), checked after all runs");
        }
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            List<java.util.concurrent.Future<?>> runs = new java.util.ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int first = t;
                runs.add(pool.submit(() -> {
                    for (int r = 0; r < 30; r++) {
                        int i = (first + r) % batches.length;
                        assertClose(expected[i], plan.output(inputs[i], batches[i], 1, 12, 12), "thread " + first + " run " + r);
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : runs) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
    }

    /**
     * The pool holds one run's arrays: the same input shape again takes them all back and adds none, and another
     * shape (batch or image size) empties it first, so alternating shapes do not pile arrays up. Outputs at each
     * shape equal those of runs with new arrays ({@link InferencePlan#REUSE_PROPERTY} false).
     */
    @Test
    void thePoolHoldsOneRunsArraysAndEmptiesOnANewShape() {
        ImageShape in = ImageShape.of(1, 12, 12);
        InferencePlan plan = InferencePlan.compile(trainedResNet(in, LayerKind.SPARSE));
        int[][] shapes = {{2, 12}, {2, 12}, {2, 16}, {3, 12}, {2, 16}, {2, 12}};
        java.util.Map<String, Integer> heldAt = new java.util.HashMap<>();
        for (int i = 0; i < shapes.length; i++) {
            int batch = shapes[i][0];
            int hw = shapes[i][1];
            float[] x = data(ImageShape.of(1, hw, hw), 3, batch, 60 + i).getFeatures().dup('c').data().asFloat();
            float[] reused = plan.output(x, batch, 1, hw, hw);
            int held = plan.heldArrays();
            assertTrue(held > 0, "shape " + batch + "x" + hw + ": the pool holds the run's arrays");
            Integer before = heldAt.putIfAbsent(batch + "x" + hw, held);
            if (before != null) {
                assertEquals(before.intValue(), held, "shape " + batch + "x" + hw + " again: no more arrays held");
            }
            System.setProperty(InferencePlan.REUSE_PROPERTY, "false");
            float[] fresh;
            try {
                fresh = plan.output(x, batch, 1, hw, hw);
            } finally {
                System.clearProperty(InferencePlan.REUSE_PROPERTY);
            }
            assertClose(fresh, reused, "shape " + batch + "x" + hw + " (run " + i + ")");
        }
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double scale = 1e-6;
        double err = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            err = Math.max(err, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(err / scale <= TOL, what + ": relative error " + err / scale);
    }

    @Test
    void stockDl4jResNetMatchesTheGraph() {
        ImageShape in = ImageShape.of(2, 10, 10);
        ComputationGraph g = trainedResNet(in, LayerKind.STOCK);
        InferencePlan plan = InferencePlan.compile(g);
        assertSameOutputs(g, plan, in, 2, 3);
        assertTrue(plan.describe().stream().anyMatch(s -> s.contains("bn stem_bn folded")), String.join("\n", plan.describe()));
    }

    @Test
    void lenetWithPoolingFlatteningAndDenseLayersMatchesTheGraph() {
        ImageShape in = ImageShape.of(1, 28, 28);
        for (LayerKind kind : LayerKind.values()) {
            ComputationGraph g = ResNets.init(LeNet5.configuration(ModelSpec.builder().input(in).numClasses(10).layers(kind).build()));
            g.fit(data(in, 10, 4, 5)); // non-zero biases
            InferencePlan plan = InferencePlan.compile(g);
            INDArray x = data(in, 10, 2, 9).getFeatures();
            double err = relError(plan.output(x), g.outputSingle(false, x));
            assertTrue(err <= TOL, kind + ": relative error " + err + "\n" + String.join("\n", plan.describe()));
        }
    }

    @Test
    void sameModeConvolutionWithBiasAndAveragePoolingMatchesTheGraph() {
        ComputationGraphConfiguration conf = new org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder().seed(3).graphBuilder()
                .addInputs("in").setInputTypes(InputType.convolutional(9, 9, 2))
                .addLayer("conv", new io.sparsetrain.nn.layers.SparseConvolution.Builder(3, 3).nOut(4)
                        .convolutionMode(org.deeplearning4j.nn.conf.ConvolutionMode.Same).activation(Activation.RELU).build(), "in")
                .addLayer("pool", new org.deeplearning4j.nn.conf.layers.SubsamplingLayer.Builder(
                        org.deeplearning4j.nn.conf.layers.PoolingType.AVG).kernelSize(2, 2).stride(2, 2).build(), "conv")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build(),
                        "pool")
                .setOutputs("out").build();
        ComputationGraph g = new ComputationGraph(conf);
        g.init();
        g.getLayer("conv").getParam("b").assign(0.05); // a bias the plan must add before the fused ReLU
        InferencePlan plan = InferencePlan.compile(g);
        INDArray x = Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 2, 2, 9, 9);
        double err = relError(plan.output(x), g.outputSingle(false, x));
        assertTrue(err <= TOL, "relative error " + err + "\n" + String.join("\n", plan.describe()));
    }

    @Test
    void refusesVerticesItCannotRunByName() {
        ComputationGraphConfiguration conf = new org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder().graphBuilder()
                .addInputs("in").setInputTypes(InputType.feedForward(4))
                .addLayer("a", new org.deeplearning4j.nn.conf.layers.DenseLayer.Builder().nOut(3).activation(Activation.RELU).build(), "in")
                .addLayer("b", new org.deeplearning4j.nn.conf.layers.DenseLayer.Builder().nOut(3).activation(Activation.RELU).build(), "in")
                .addVertex("merge", new MergeVertex(), "a", "b")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(2).activation(Activation.SOFTMAX).build(),
                        "merge")
                .setOutputs("out").build();
        ComputationGraph g = new ComputationGraph(conf);
        g.init();
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> InferencePlan.compile(g));
        assertTrue(e.getMessage().contains("vertex merge") && e.getMessage().contains("MergeVertex"), e.getMessage());

        ComputationGraphConfiguration tanh = new org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder().graphBuilder()
                .addInputs("in").setInputTypes(InputType.feedForward(4))
                .addLayer("hidden", new org.deeplearning4j.nn.conf.layers.DenseLayer.Builder().nOut(3).activation(Activation.TANH).build(), "in")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(2).activation(Activation.SOFTMAX).build(),
                        "hidden")
                .setOutputs("out").build();
        ComputationGraph t = new ComputationGraph(tanh);
        t.init();
        e = assertThrows(UnsupportedOperationException.class, () -> InferencePlan.compile(t));
        assertTrue(e.getMessage().contains("vertex hidden") && e.getMessage().toLowerCase().contains("tanh"), e.getMessage());
    }

    @Test
    void wrongInputNamesTheStepAndTheShape() {
        ImageShape in = ImageShape.of(1, 12, 12);
        ModelSpec spec = ModelSpec.builder().input(in).numClasses(3).build();
        InferencePlan plan = InferencePlan.compile(ResNets.init(ResNets.cifar(8, 4, spec)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> plan.output(Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 1, 3, 12, 12)));
        assertTrue(e.getMessage().contains("stem") && e.getMessage().contains("3 channels"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> plan.output(new float[10], 1, 1, 12, 12));
        assertTrue(e.getMessage().contains("144"), e.getMessage());
    }
}
