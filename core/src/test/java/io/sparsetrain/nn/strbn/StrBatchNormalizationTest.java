package io.sparsetrain.nn.strbn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.learn.strbn.StrBnThreshold;
import io.sparsetrain.nn.layers.FastBatchNormalization;
import java.io.File;
import java.nio.file.Path;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** The STR-BN layer: finite-difference gradients, the standard-BN limit, JSON and model-zip round trips. */
class StrBatchNormalizationTest {

    static ComputationGraph graph(Layer bn, DataType type, boolean cnn) {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(7).dataType(type).miniBatch(false)
                .weightInit(WeightInit.XAVIER).updater(new Sgd(0.1)).graphBuilder().addInputs("in")
                .setInputTypes(cnn ? InputType.convolutional(4, 3, 5) : InputType.feedForward(5))
                .addLayer("bn", bn, "in")
                .addLayer("fc", new DenseLayer.Builder().nOut(4).activation(Activation.TANH).build(), "bn")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(3).activation(Activation.IDENTITY).build(), "fc")
                .setOutputs("out").build();
        ComputationGraph g = new ComputationGraph(conf);
        g.init();
        return g;
    }

    static INDArray random(long seed, DataType type, long... shape) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.rand(DataType.DOUBLE, shape).subi(0.5).muli(2).castTo(type);
    }

    @ParameterizedTest(name = "cnn={0} function={1}")
    @CsvSource({"true, SIGMOID", "false, SIGMOID", "true, EXP"})
    void finiteDifferenceGradients(boolean cnn, StrBnThreshold.ThresholdFunction f) {
        ComputationGraph g = graph(new StrBatchNormalization.Builder().thresholdFunction(f).build(), DataType.DOUBLE, cnn);
        // |gamma| around the threshold g(s) = 0.3, none at the kink: 2 of 5 channels dead
        double s = f == StrBnThreshold.ThresholdFunction.SIGMOID ? Math.log(0.3 / 0.7) : Math.log(0.3);
        g.getParam("bn_gamma").assign(Nd4j.createFromArray(0.9, -0.1, -0.7, 0.2, 1.3).reshape(1, 5));
        g.getParam("bn_beta").assign(Nd4j.createFromArray(0.4, -0.3, 0.2, 1.1, -0.6).reshape(1, 5));
        g.getParam("bn_s").assign(s);
        INDArray x = cnn ? random(1, DataType.DOUBLE, 6, 5, 4, 3).muli(2).addi(0.5) : random(1, DataType.DOUBLE, 6, 5).muli(2).addi(0.5);
        INDArray y = random(2, DataType.DOUBLE, 6, 3);
        g.setInputs(x);
        g.setLabels(y);
        g.computeGradientAndScore();
        var grad = g.gradient();
        double eps = 1e-6;
        int checked = 0;
        for (String key : new String[] {"bn_gamma", "bn_beta", "bn_s"}) {
            INDArray p = g.getParam(key);
            INDArray analytic = grad.getGradientFor(key).dup();
            for (int i = 0; i < p.length(); i++) {
                double orig = p.getDouble(i);
                p.putScalar(i, orig + eps);
                double plus = g.score(new org.nd4j.linalg.dataset.DataSet(x, y), true);
                p.putScalar(i, orig - eps);
                double minus = g.score(new org.nd4j.linalg.dataset.DataSet(x, y), true);
                p.putScalar(i, orig);
                double numeric = (plus - minus) / (2 * eps);
                double a = analytic.getDouble(i);
                double err = Math.abs(a - numeric) / Math.max(1e-8, Math.abs(a) + Math.abs(numeric));
                assertTrue(err < 1e-5 || Math.abs(a - numeric) < 1e-9,
                        key + "[" + i + "]: analytic " + a + " vs numeric " + numeric);
                checked++;
            }
        }
        assertEquals(11, checked);
        // dead channels (|gamma| <= g(s)) get no gamma gradient, and s a non-zero one
        INDArray dGamma = grad.getGradientFor("bn_gamma");
        assertEquals(0.0, dGamma.getDouble(1));
        assertEquals(0.0, dGamma.getDouble(3));
        assertTrue(Math.abs(grad.getGradientFor("bn_s").getDouble(0)) > 1e-6);
    }

    @Test
    void equalsStandardBatchNormAtMinusInfinityThreshold() {
        ComputationGraph fast = graph(new FastBatchNormalization.Builder().build(), DataType.FLOAT, true);
        ComputationGraph str = graph(new StrBatchNormalization.Builder().initialS(-1e30).build(), DataType.FLOAT, true);
        float[] gamma = {0.9f, -0.1f, -0.7f, 0.02f, 1.3f};
        float[] beta = {0.4f, -0.3f, 0.2f, 1.1f, -0.6f};
        float[] betaHat = new float[5];
        for (int c = 0; c < 5; c++) {
            betaHat[c] = beta[c] / gamma[c];
        }
        INDArray mean = random(3, DataType.FLOAT, 1, 5);
        INDArray var = random(4, DataType.FLOAT, 1, 5).addi(1.2);
        fast.getParam("bn_gamma").assign(Nd4j.createFromArray(gamma).reshape(1, 5));
        fast.getParam("bn_beta").assign(Nd4j.createFromArray(beta).reshape(1, 5));
        str.getParam("bn_gamma").assign(Nd4j.createFromArray(gamma).reshape(1, 5));
        str.getParam("bn_beta").assign(Nd4j.createFromArray(betaHat).reshape(1, 5));
        for (ComputationGraph g : new ComputationGraph[] {fast, str}) {
            g.getParam("bn_mean").assign(mean);
            g.getParam("bn_var").assign(var);
            g.getParam("fc_W").assign(fast.getParam("fc_W"));
            g.getParam("fc_b").assign(fast.getParam("fc_b"));
            g.getParam("out_W").assign(fast.getParam("out_W"));
            g.getParam("out_b").assign(fast.getParam("out_b"));
        }
        INDArray x = random(1, DataType.FLOAT, 8, 5, 4, 3).muli(3);
        for (boolean train : new boolean[] {false, true}) {
            INDArray a = fast.outputSingle(train, x);
            INDArray b = str.outputSingle(train, x);
            double d = a.sub(b).amaxNumber().doubleValue();
            assertTrue(d < 1e-5, "train=" + train + ": outputs differ by " + d);
        }
    }

    @Test
    void jsonAndModelZipRoundTrip(@TempDir Path dir) throws Exception {
        StrBatchNormalization layer = new StrBatchNormalization.Builder().thresholdFunction(StrBnThreshold.ThresholdFunction.EXP)
                .initialS(-3.5).thresholdL2(2e-4).decay(0.8).build();
        ComputationGraph g = graph(layer, DataType.FLOAT, true);
        g.getParam("bn_s").assign(-2.25);
        g.getParam("bn_gamma").assign(Nd4j.createFromArray(0.9f, -0.1f, -0.7f, 0.2f, 1.3f).reshape(1, 5));
        String json = g.getConfiguration().toJson();
        assertTrue(json.contains(StrBatchNormalization.class.getName()), json);
        ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(json);
        assertEquals(json, back.toJson());
        StrBatchNormalization b = assertInstanceOf(StrBatchNormalization.class,
                ((LayerVertex) back.getVertices().get("bn")).getLayerConf().getLayer());
        assertEquals(StrBnThreshold.ThresholdFunction.EXP, b.getThresholdFunction());
        assertEquals(-3.5, b.getInitialS());
        assertEquals(2e-4, b.getThresholdL2());
        assertEquals(0.8, b.getDecay());
        assertEquals(layer.getThresholdL2(), b.getRegularizationByParam("s").size() == 1 ? 2e-4 : 0);

        File f = dir.resolve("strbn.zip").toFile();
        ModelSerializer.writeModel(g, f, true);
        ComputationGraph restored = ModelSerializer.restoreComputationGraph(f, true);
        assertEquals(g.params(), restored.params());
        assertEquals(-2.25, restored.getParam("bn_s").getDouble(0));
        StrBatchNormalizationLayer rl = (StrBatchNormalizationLayer) restored.getLayer("bn");
        assertArrayEquals(((StrBatchNormalizationLayer) g.getLayer("bn")).deadChannels(), rl.deadChannels());
        INDArray x = random(5, DataType.FLOAT, 3, 5, 4, 3);
        assertEquals(g.outputSingle(x), restored.outputSingle(x));
    }

    @Test
    void rejectsBadSettings() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new StrBatchNormalization.Builder().initialS(Double.NaN).build());
        assertTrue(e.getMessage().contains("initialS"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new StrBatchNormalization.Builder().thresholdL2(-1).build());
        assertTrue(e.getMessage().contains("thresholdL2"), e.getMessage());
    }
}
