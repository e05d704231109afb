package io.sparsetrain.nn;

import static io.sparsetrain.nn.NnTestNets.*;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.nn.layers.FastBatchNormalization;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Our batch normalization against DL4J's: training-mode outputs and gradients, inference with set statistics. */
class FastBatchNormalizationTest {

    @ParameterizedTest(name = "cnn={0}")
    @CsvSource({"true", "false"})
    void matchesDl4j(boolean cnn) {
        InputType in = cnn ? InputType.convolutional(5, 4, 3) : InputType.feedForward(3);
        MultiLayerNetwork stock = single(new BatchNormalization.Builder().useLogStd(false).build(), in, 3);
        MultiLayerNetwork ours = single(new FastBatchNormalization.Builder().build(), in, 3);
        INDArray gamma = random(5, 1, 3).addi(1.5);
        INDArray beta = random(6, 1, 3);
        INDArray mean = random(7, 1, 3);
        INDArray var = random(8, 1, 3).addi(1.5);
        for (MultiLayerNetwork n : new MultiLayerNetwork[] {stock, ours}) {
            n.setParam("0_gamma", gamma);
            n.setParam("0_beta", beta);
            n.setParam("0_mean", mean);
            n.setParam("0_var", var);
            n.setParam("1_W", stock.getParam("1_W"));
            n.setParam("1_b", stock.getParam("1_b"));
        }
        INDArray x = cnn ? random(1, 6, 3, 5, 4).muli(3).addi(1) : random(1, 6, 3).muli(3).addi(1);
        INDArray y = random(2, 6, 3);
        // inference with the same running statistics
        double di = relDiff(stock.output(x, false), ours.output(x, false));
        assertTrue(di < 1e-4, "inference output differs by " + di);
        // training mode: batch statistics, gradients
        double dt = relDiff(stock.output(x, true), ours.output(x, true));
        assertTrue(dt < 1e-4, "training output differs by " + dt);
        Gradient gs = gradient(stock, x, y);
        Gradient go = gradient(ours, x, y);
        for (String k : new String[] {"0_gamma", "0_beta", "1_W", "1_b"}) {
            double d = relDiff(gs.getGradientFor(k), go.getGradientFor(k));
            assertTrue(d < 1e-4, k + " gradient differs by " + d);
        }
        double dx = relDiff(inputGradient(stock, x, y), inputGradient(ours, x, y));
        assertTrue(dx < 1e-4, "input gradient differs by " + dx);
    }
}
