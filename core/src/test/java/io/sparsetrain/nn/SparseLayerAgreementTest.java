package io.sparsetrain.nn;

import static io.sparsetrain.nn.NnTestNets.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.kernels.NmFormat;
import io.sparsetrain.nn.layers.SparseLayer;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.nm.NmGroupOrder;
import io.sparsetrain.prune.nm.NmMagnitudePruner;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Our sparse layers against DL4J's stock layers in the same one-layer network (float32): outputs,
 * parameter gradients and input gradients agree to 1e-4 relative to the largest magnitude. This is
 * the gradient check of the issue: DL4J's GradientCheckUtil needs float64 and our kernels are float32,
 * so the analytic gradients are checked against DL4J's own analytic gradients (themselves
 * gradient-checked upstream), plus a float finite-difference check in {@link #finiteDifferences()}.
 */
class SparseLayerAgreementTest {

    private static final double TOL = 1e-4;

    @ParameterizedTest(name = "k={0} stride={1} pad={2} act={3}")
    @CsvSource({"3,1,1,TANH", "3,2,1,IDENTITY", "1,1,0,RELU", "1,2,0,IDENTITY", "3,1,0,TANH", "3,2,0,IDENTITY"})
    void convMatchesStock(int k, int s, int p, Activation act) {
        InputType in = InputType.convolutional(9, 7, 3);
        MultiLayerNetwork stock = single(stockConv(3, 5, k, s, p, act), in, 7);
        MultiLayerNetwork ours = single(sparseConv(3, 5, k, s, p, act), in, 7);
        copyParams(stock, ours);
        compare(stock, ours, random(1, 4, 3, 9, 7), random(2, 4, 3));
    }

    @Test
    void denseMatchesStock() {
        InputType in = InputType.feedForward(13);
        MultiLayerNetwork stock = single(stockDense(13, 7, Activation.TANH), in, 7);
        MultiLayerNetwork ours = single(sparseDense(13, 7, Activation.TANH), in, 7);
        copyParams(stock, ours);
        compare(stock, ours, random(1, 5, 13), random(2, 5, 3));
    }

    @Test
    void maskedConvMatchesStockWithMaskedWeights() {
        InputType in = InputType.convolutional(8, 8, 3);
        MultiLayerNetwork stock = single(stockConv(3, 6, 3, 1, 1, Activation.IDENTITY), in, 11);
        MultiLayerNetwork ours = single(sparseConv(3, 6, 3, 1, 1, Activation.IDENTITY), in, 11);
        copyParams(stock, ours);
        SparseLayer layer = (SparseLayer) ours.getLayer(0);
        float[] mask = randomMask(6 * 27, 0.4, 5);
        layer.setMask(mask);
        stock.setParam("0_W", stock.getParam("0_W").mul(ours.getParam("0_M")));
        INDArray x = random(3, 2, 3, 8, 8);
        INDArray y = random(4, 2, 3);
        compare(stock, ours, x, y, ours.getParam("0_M"));
        float[] dw = ((INDArray) gradient(ours, x, y).getGradientFor("0_W")).dup('c').data().asFloat();
        for (int i = 0; i < mask.length; i++) {
            if (mask[i] == 0f) {
                assertTrue(dw[i] == 0f, "gradient at masked position " + i + " is " + dw[i]);
            }
        }
        assertEquals(0.0, gradient(ours, x, y).getGradientFor("0_M").amaxNumber().doubleValue());
    }

    @Test
    void maskedDenseMatchesStockWithMaskedWeights() {
        InputType in = InputType.feedForward(10);
        MultiLayerNetwork stock = single(stockDense(10, 6, Activation.RELU), in, 11);
        MultiLayerNetwork ours = single(sparseDense(10, 6, Activation.RELU), in, 11);
        copyParams(stock, ours);
        ((SparseLayer) ours.getLayer(0)).setMask(randomMask(60, 0.5, 9));
        stock.setParam("0_W", stock.getParam("0_W").mul(ours.getParam("0_M")));
        compare(stock, ours, random(3, 4, 10), random(4, 4, 3), ours.getParam("0_M"));
    }

    @ParameterizedTest(name = "conv k={0} stride={1} pad={2}")
    @CsvSource({"3,1,1", "3,2,1", "1,1,0"})
    void frozenTwoFourConvEqualsDensePath(int k, int s, int p) {
        // Cin = 3: K = 27 or 3, not multiples of 4 (the last group is padded)
        InputType in = InputType.convolutional(8, 8, 3);
        MultiLayerNetwork dense = single(sparseConv(3, 8, k, s, p, Activation.TANH), in, 21);
        MultiLayerNetwork frozen = dense.clone();
        applyTwoFour(dense);
        applyTwoFour(frozen);
        MaskedNetwork.of(frozen).freeze(NmFormat.TWO_FOUR);
        assertEquals(1, MaskedNetwork.of(frozen).compressedLayers().size());
        compare(dense, frozen, random(5, 3, 3, 8, 8), random(6, 3, 3));
    }

    @ParameterizedTest(name = "conv k={0} stride={1} pad={2}")
    @CsvSource({"3,1,1", "3,2,1", "1,1,0"})
    void frozenChannelWiseTwoFourConvEqualsDensePath(int k, int s, int p) throws Exception {
        // Cin = 6: channel groups straddle kernel positions ([c0..c3 at tap 0], [c4 c5 at tap 0, c0 c1 at tap 1], ...)
        InputType in = InputType.convolutional(8, 8, 6);
        MultiLayerNetwork dense = single(sparseConv(6, 8, k, s, p, Activation.TANH), in, 22);
        MultiLayerNetwork frozen = dense.clone();
        applyTwoFour(dense, NmGroupOrder.CHANNEL);
        applyTwoFour(frozen, NmGroupOrder.CHANNEL);
        SparseLayer layer = (SparseLayer) frozen.getLayer(0);
        assertEquals(k > 1, !NmMagnitudePruner.satisfiesNm(io.sparsetrain.prune.Mask.fromFloats(layer.maskShape(),
                layer.mask()), 2, 4), "a 3x3 channel-wise mask is not 2:4 along K");
        MaskedNetwork.of(frozen).freeze(NmFormat.TWO_FOUR);
        assertEquals(1, MaskedNetwork.of(frozen).compressedLayers().size());
        assertEquals(k > 1 ? NmGroupOrder.CHANNEL : NmGroupOrder.KERNEL, layer.frozenGroupOrder());
        compare(dense, frozen, random(5, 3, 6, 8, 8), random(6, 3, 3));
        // the frozen order survives a model zip
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        org.deeplearning4j.util.ModelSerializer.writeModel(frozen, bytes, false);
        MultiLayerNetwork back = org.deeplearning4j.util.ModelSerializer.restoreMultiLayerNetwork(
                new java.io.ByteArrayInputStream(bytes.toByteArray()), false);
        assertEquals(layer.frozenGroupOrder(), ((SparseLayer) back.getLayer(0)).frozenGroupOrder());
        assertEquals(1, MaskedNetwork.of(back).compressedLayers().size());
        INDArray x = random(7, 2, 6, 8, 8);
        assertTrue(relDiff(dense.output(x), back.output(x)) < TOL);
    }

    @Test
    void frozenLayerSeesWeightChangesBetweenInferencePasses() {
        // inference reuses the compressed matrix while the weights stay the same: a change must still show
        MultiLayerNetwork dense = twoFourConvNet();
        MultiLayerNetwork frozen = dense.clone();
        MaskedNetwork.of(frozen).freeze(NmFormat.TWO_FOUR);
        INDArray x = random(5, 3, 3, 8, 8);
        INDArray first = frozen.output(x);
        assertTrue(relDiff(first, frozen.output(x)) == 0, "same weights, same output");
        INDArray w = dense.getParam("0_W").mul(1.5);
        dense.setParam("0_W", w);
        frozen.setParam("0_W", w.dup());
        INDArray changed = frozen.output(x);
        assertTrue(relDiff(first, changed) > 1e-3, "the new weights are used");
        assertTrue(relDiff(dense.output(x), changed) < TOL, "and agree with the dense path");
    }

    @Test
    void frozenLayerInferenceIgnoresMaskedWeightsAndSeesInPlaceChanges() {
        // inference on a frozen mask skips re-masking while W and M are exactly what the compressed matrix was
        // built from; a weight written at a masked position must stay ignored, one at a kept position must show
        MultiLayerNetwork dense = twoFourConvNet();
        MultiLayerNetwork frozen = dense.clone();
        MaskedNetwork.of(frozen).freeze(NmFormat.TWO_FOUR);
        INDArray x = random(5, 3, 3, 8, 8);
        frozen.fit(x, random(6, 3, 3)); // a training pass first: the cache then holds masked weights only
        dense.setParams(frozen.params().dup());
        INDArray first = frozen.output(x);
        assertTrue(relDiff(first, frozen.output(x)) == 0, "same weights, same output");
        assertTrue(relDiff(dense.output(x), first) < TOL, "agrees with the dense path");

        INDArray mask = frozen.getParam("0_M");
        INDArray w = frozen.getParam("0_W");
        long masked = -1;
        long kept = -1;
        for (long i = 0; i < mask.length() && (masked < 0 || kept < 0); i++) {
            if (mask.getDouble(i) == 0) {
                masked = masked < 0 ? i : masked;
            } else {
                kept = kept < 0 ? i : kept;
            }
        }
        w.putScalar(masked, 5.0); // in place: the parameter array stays the same object
        assertTrue(relDiff(first, frozen.output(x)) == 0, "a weight at a masked position is ignored");

        w.putScalar(kept, w.getDouble(kept) + 0.5);
        INDArray changed = frozen.output(x);
        assertTrue(relDiff(first, changed) > 1e-4, "an in-place change at a kept position is used");
        INDArray dw = dense.getParam("0_W");
        dw.putScalar(kept, dw.getDouble(kept) + 0.5);
        assertTrue(relDiff(dense.output(x), changed) < TOL, "and agrees with the dense path");
    }

    @Test
    void frozenTwoFourDenseEqualsDensePath() {
        InputType in = InputType.feedForward(14);
        MultiLayerNetwork dense = single(sparseDense(14, 9, Activation.TANH), in, 21);
        MultiLayerNetwork frozen = dense.clone();
        applyTwoFour(dense);
        applyTwoFour(frozen);
        MaskedNetwork.of(frozen).freeze();
        assertEquals(1, MaskedNetwork.of(frozen).compressedLayers().size());
        compare(dense, frozen, random(5, 6, 14), random(6, 6, 3));
    }

    /**
     * Central differences in float on the layer alone, for L = sum(activate(x) * R) with a fixed
     * random R (so dL/dout = R): relative error below 2e-2 (float32 noise with h = 1e-2).
     */
    @ParameterizedTest(name = "frozen 2:4 = {0}, groups {1}")
    @CsvSource({"false,KERNEL", "true,KERNEL", "true,CHANNEL"})
    void finiteDifferences(boolean frozen, NmGroupOrder order) {
        InputType in = InputType.convolutional(5, 5, 4);
        MultiLayerNetwork net = single(sparseConv(4, 3, 3, 1, 1, Activation.TANH), in, 3);
        if (frozen) {
            applyTwoFour(net, order);
            MaskedNetwork.of(net).freeze(NmFormat.TWO_FOUR);
            assertEquals(order, ((SparseLayer) net.getLayer(0)).frozenGroupOrder());
            assertEquals(1, MaskedNetwork.of(net).compressedLayers().size());
        } else {
            ((SparseLayer) net.getLayer(0)).setMask(randomMask(3 * 36, 0.6, 2));
        }
        net.initGradientsView();
        org.deeplearning4j.nn.api.Layer layer = net.getLayer(0);
        var ws = org.deeplearning4j.nn.workspace.LayerWorkspaceMgr.noWorkspaces();
        INDArray x = random(7, 2, 4, 5, 5);
        INDArray r = random(8, 2, 3, 5, 5);
        layer.setInput(x, ws);
        layer.activate(true, ws);
        INDArray g = layer.backpropGradient(r, ws).getFirst().getGradientFor("W").dup();
        INDArray w = layer.getParam("W");
        float[] mask = ((SparseLayer) layer).mask();
        double h = 1e-2;
        int checked = 0;
        for (int i = 0; i < mask.length; i++) {
            long[] idx = org.nd4j.linalg.api.shape.Shape.ind2subC(w.shape(), i);
            double orig = w.getDouble(idx);
            w.putScalar(idx, orig + h);
            double up = objective(layer, x, r, ws);
            w.putScalar(idx, orig - h);
            double down = objective(layer, x, r, ws);
            w.putScalar(idx, orig);
            double fd = (up - down) / (2 * h);
            double an = g.getDouble(idx);
            if (mask[i] == 0f) {
                assertTrue(an == 0.0, "masked gradient " + i + " is " + an);
                assertEquals(0.0, fd, 1e-6, "a masked weight does not change the output, " + i);
            } else {
                checked++;
                assertTrue(Math.abs(fd - an) <= 2e-2 * Math.max(1e-2, Math.abs(an)) + 1e-3,
                        "weight " + i + ": finite difference " + fd + " vs analytic " + an);
            }
        }
        assertTrue(checked > 10);
    }

    private static double objective(org.deeplearning4j.nn.api.Layer layer, INDArray x, INDArray r,
                                     org.deeplearning4j.nn.workspace.LayerWorkspaceMgr ws) {
        layer.setInput(x, ws);
        INDArray out = layer.activate(false, ws).castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE);
        return out.mul(r.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE)).sumNumber().doubleValue();
    }

    /** One 3 -> 8 channel 3x3 sparse convolution on 8x8 inputs with magnitude 2:4 masks (not frozen). */
    private static MultiLayerNetwork twoFourConvNet() {
        MultiLayerNetwork net = single(sparseConv(3, 8, 3, 1, 1, Activation.TANH), InputType.convolutional(8, 8, 3), 21);
        applyTwoFour(net);
        return net;
    }

    private static void applyTwoFour(MultiLayerNetwork net) {
        applyTwoFour(net, NmGroupOrder.KERNEL);
    }

    private static void applyTwoFour(MultiLayerNetwork net, NmGroupOrder order) {
        MaskedNetwork mn = MaskedNetwork.of(net);
        NmMagnitudePruner pruner = new NmMagnitudePruner(2, 4, order);
        io.sparsetrain.prune.MaskSet.Builder b = io.sparsetrain.prune.MaskSet.builder();
        for (PrunableLayer l : mn.prunableLayers()) {
            b.put(l.name(), pruner.makeMask(l));
        }
        mn.applyMasks(b.build());
    }

    /** Outputs, every gradient the stock network has, and input gradients agree to {@link #TOL}. */
    static void compare(MultiLayerNetwork a, MultiLayerNetwork b, INDArray x, INDArray y) {
        compare(a, b, x, y, null);
    }

    /** As above; with a mask, the stock gradient of "0_W" is compared after multiplying by it. */
    static void compare(MultiLayerNetwork a, MultiLayerNetwork b, INDArray x, INDArray y, INDArray mask) {
        assertTrue(relDiff(a.output(x), b.output(x)) < TOL, "output differs: " + relDiff(a.output(x), b.output(x)));
        Gradient ga = gradient(a, x, y);
        Gradient gb = gradient(b, x, y);
        for (String key : ga.gradientForVariable().keySet()) {
            INDArray expected = mask != null && key.equals("0_W") ? ga.getGradientFor(key).mul(mask) : ga.getGradientFor(key);
            double d = relDiff(expected, gb.getGradientFor(key));
            assertTrue(d < TOL, "gradient " + key + " differs by " + d);
        }
        double d = relDiff(inputGradient(a, x, y), inputGradient(b, x, y));
        assertTrue(d < TOL, "input gradient differs by " + d);
    }
}
