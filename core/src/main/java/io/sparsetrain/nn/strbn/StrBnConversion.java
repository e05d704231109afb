package io.sparsetrain.nn.strbn;

import io.sparsetrain.learn.strbn.StrBnThreshold;
import io.sparsetrain.nn.strbn.ChannelFlow.Kind;
import io.sparsetrain.nn.strbn.ChannelFlow.Node;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.regularization.L2Regularization;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a trained graph into its STR-BN form: every batch norm (DL4J's, {@code FastBatchNormalization})
 * becomes a {@link StrBatchNormalization} with beta_hat = beta / gamma, and every convolution or hidden
 * dense layer without a batch norm of its own (LeNet-5) gets one inserted right after it (vertex
 * {@code <layer>_strbn}, after the layer's activation), initialised from the layer's output on a
 * calibration batch so that it is the identity at inference: running mean m and variance v of each
 * channel, gamma = sqrt(v + eps), beta_hat = m / sqrt(v + eps).
 *
 * <p>With g(s) = 0 (s = -1e30) the STR-BN graph computes exactly the trained graph's function (up to
 * float rounding); {@link #convert} checks this on the calibration batch and throws if the outputs differ
 * by more than {@link #EQUALITY_TOLERANCE} (relative to max(1, max |output|)), then sets s to its initial
 * value. A gamma of exactly 0 (a constant channel) cannot be written as gamma * (x_hat + beta_hat); it is
 * replaced by {@link #ZERO_GAMMA} with the same sign rule (logged).
 */
public final class StrBnConversion {

    private static final Logger LOG = LoggerFactory.getLogger(StrBnConversion.class);

    public static final double EQUALITY_TOLERANCE = 1e-4;
    /** Stand-in for gamma = 0. */
    public static final float ZERO_GAMMA = 1e-6f;
    /** The s that makes g(s) exactly 0 in double precision (sigmoid and exp). */
    public static final double S_MINUS_INFINITY = -1e30;
    /** Suffix of inserted STR-BN vertices. */
    public static final String INSERTED_SUFFIX = "_strbn";

    private StrBnConversion() {
    }

    /**
     * The STR-BN graph and what the removal needs to know of the original.
     *
     * @param graph the STR-BN graph (initialised, parameters set, s at its initial value)
     * @param originalLayers vertex name to the trained graph's layer configuration (inserted vertices absent)
     * @param inserted names of inserted STR-BN vertices
     * @param maxOutputDifference the measured output difference at g(s) = 0 on the calibration batch
     */
    public record Converted(ComputationGraph graph, Map<String, Layer> originalLayers, List<String> inserted,
                            double maxOutputDifference) {
    }

    /** Puts {@code bl} on (a copy of) {@code updater} with L2 {@code weightDecay} on weights and biases. */
    static void training(BaseLayer bl, IUpdater updater, double weightDecay) {
        List<Regularization> l2 = weightDecay > 0 ? List.of(new L2Regularization(weightDecay)) : List.of();
        bl.setIUpdater(updater.clone());
        bl.setBiasUpdater(null);
        bl.setRegularization(new ArrayList<>(l2));
        bl.setRegularizationBias(new ArrayList<>(l2));
    }

    /**
     * Converts {@code trained} (unchanged) for STR-BN training.
     *
     * @param calibration a batch of real inputs [B, C, H, W] (inserted batch norms take their statistics
     *     from it; the equality check runs on it)
     * @param updater the updater of every layer of the result
     * @param thresholdDecay L2 on each STR-BN threshold s
     * @param gammaDecay L2 on the STR-BN gammas
     * @param weightDecay L2 on weights, biases and beta_hat (0 = none)
     * @throws IllegalArgumentException naming the vertex when the graph has a vertex that removal does not support
     * @throws IllegalStateException when the converted graph does not reproduce the trained one at g(s) = 0
     */
    public static Converted convert(ComputationGraph trained, StrBnThreshold threshold, double thresholdDecay, double gammaDecay,
                                    INDArray calibration, IUpdater updater, double weightDecay) {
        ChannelFlow flow = ChannelFlow.of(trained);
        ComputationGraphConfiguration conf = trained.getConfiguration().clone();
        Map<String, Layer> originals = new LinkedHashMap<>();
        for (Map.Entry<String, GraphVertex> e : trained.getConfiguration().getVertices().entrySet()) {
            if (e.getValue() instanceof LayerVertex lv) {
                originals.put(e.getKey(), lv.getLayerConf().getLayer());
            }
        }
        // insert a batch norm after every producer that has none
        List<String> inserted = new ArrayList<>();
        Map<String, String> insertedAfter = new LinkedHashMap<>();
        for (Node p : flow.producers()) {
            if (flow.batchNormAfter(p) != null) {
                continue;
            }
            String name = p.name + INSERTED_SUFFIX;
            while (conf.getVertices().containsKey(name)) {
                name = name + "_";
            }
            LayerVertex pv = (LayerVertex) conf.getVertices().get(p.name);
            NeuralNetConfiguration nnc = pv.getLayerConf().clone();
            StrBatchNormalization bn = new StrBatchNormalization.Builder().nOut(((FeedForwardLayer) p.layer).getNOut()).build();
            bn.setLayerName(name);
            nnc.setLayer(bn);
            for (List<String> ins : conf.getVertexInputs().values()) {
                Collections.replaceAll(ins, p.name, name);
            }
            conf.getVertices().put(name, new LayerVertex(nnc, null));
            conf.getVertexInputs().put(name, new ArrayList<>(List.of(p.name)));
            inserted.add(name);
            insertedAfter.put(name, p.name);
        }
        // replace every batch norm
        for (String name : flow.order()) {
            Node n = flow.node(name);
            if (n.kind != Kind.BATCH_NORM || n.layer instanceof StrBatchNormalization) {
                continue;
            }
            BatchNormalization b = (BatchNormalization) n.layer;
            StrBatchNormalization s = new StrBatchNormalization.Builder().nOut(b.getNOut()).eps(b.getEps()).decay(b.getDecay()).build();
            s.setLayerName(name);
            ((LayerVertex) conf.getVertices().get(name)).getLayerConf().setLayer(s);
        }
        // training settings of every layer
        for (GraphVertex v : conf.getVertices().values()) {
            if (v instanceof LayerVertex lv && lv.getLayerConf().getLayer() instanceof BaseLayer bl) {
                training(bl, updater, weightDecay);
                if (bl instanceof StrBatchNormalization s) {
                    s.setRegularization(gammaDecay > 0 ? new ArrayList<>(List.of(new L2Regularization(gammaDecay))) : new ArrayList<>());
                    s.setThresholdFunction(threshold.function());
                    s.setInitialS(threshold.initialS());
                    s.setThresholdL2(thresholdDecay);
                }
            }
        }
        conf.setIterationCount(0);
        conf.setEpochCount(0);
        conf.setTopologicalOrder(null);
        conf.setTopologicalOrderStr(null);
        ComputationGraph out = new ComputationGraph(conf);
        out.init();

        // parameters
        Map<String, INDArray> acts = insertedAfter.isEmpty() ? Map.of() : trained.feedForward(calibration, false);
        int zeroGammas = 0;
        for (String name : out.getConfiguration().getVertices().keySet()) {
            org.deeplearning4j.nn.api.Layer target = out.getLayer(name);
            if (target == null) {
                continue;
            }
            if (insertedAfter.containsKey(name)) {
                initIdentity(target, acts.get(insertedAfter.get(name)), name);
            } else if (target instanceof StrBatchNormalizationLayer && !(originals.get(name) instanceof StrBatchNormalization)) {
                zeroGammas += copyBatchNorm(trained.getLayer(name), target, name);
            } else {
                copyAll(trained.getLayer(name), target, name);
            }
        }
        if (zeroGammas > 0) {
            LOG.warn("{} batch norm channels had gamma = 0; STR-BN uses gamma = {} for them", zeroGammas, ZERO_GAMMA);
        }
        // equality at g(s) = 0
        setAllS(out, S_MINUS_INFINITY);
        INDArray a = trained.outputSingle(false, calibration).castTo(DataType.DOUBLE);
        INDArray b = out.outputSingle(false, calibration).castTo(DataType.DOUBLE);
        double diff = a.sub(b).amaxNumber().doubleValue() / Math.max(1.0, a.amaxNumber().doubleValue());
        if (!(diff <= EQUALITY_TOLERANCE)) {
            throw new IllegalStateException("the STR-BN graph at g(s) = 0 differs from the trained graph by " + diff
                    + " (relative) on the calibration batch, more than " + EQUALITY_TOLERANCE);
        }
        setAllS(out, threshold.initialS());
        return new Converted(out, originals, List.copyOf(inserted), diff);
    }

    static void setAllS(ComputationGraph g, double s) {
        for (org.deeplearning4j.nn.api.Layer l : g.getLayers()) {
            if (l instanceof StrBatchNormalizationLayer) {
                l.getParam(StrBatchNormalization.THRESHOLD).assign(s);
            }
        }
    }

    private static void initIdentity(org.deeplearning4j.nn.api.Layer target, INDArray act, String name) {
        double eps = ((StrBatchNormalization) target.conf().getLayer()).getEps();
        double[] x = StrBatchNormalizationLayer.read(act);
        int batch = (int) act.size(0);
        int c = (int) act.size(1);
        int hw = (int) (act.length() / ((long) batch * c));
        double[] mean = new double[c];
        double[] var = new double[c];
        double[] gamma = new double[c];
        double[] betaHat = new double[c];
        double n = (double) batch * hw;
        for (int ch = 0; ch < c; ch++) {
            double s = 0;
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < hw; i++) {
                    s += x[(b * c + ch) * hw + i];
                }
            }
            double mu = s / n;
            double ss = 0;
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < hw; i++) {
                    double d = x[(b * c + ch) * hw + i] - mu;
                    ss += d * d;
                }
            }
            mean[ch] = mu;
            var[ch] = ss / n;
            gamma[ch] = Math.sqrt(var[ch] + eps);
            betaHat[ch] = mu / gamma[ch];
        }
        StrBatchNormalizationLayer.write(gamma, target.getParam(StrBatchNormalization.GAMMA));
        StrBatchNormalizationLayer.write(betaHat, target.getParam(StrBatchNormalization.BETA));
        StrBatchNormalizationLayer.write(mean, target.getParam(StrBatchNormalization.MEAN));
        StrBatchNormalizationLayer.write(var, target.getParam(StrBatchNormalization.VAR));
        LOG.debug("inserted STR-BN {} over {} channels", name, c);
    }

    /** Standard batch norm to STR form; returns how many gammas were exactly 0. */
    private static int copyBatchNorm(org.deeplearning4j.nn.api.Layer from, org.deeplearning4j.nn.api.Layer to, String name) {
        BatchNormalization conf = (BatchNormalization) from.conf().getLayer();
        int c = Math.toIntExact(conf.getNOut());
        Map<String, INDArray> p = from.paramTable();
        double[] gamma = new double[c];
        double[] beta = new double[c];
        if (conf.isLockGammaBeta()) {
            java.util.Arrays.fill(gamma, conf.getGamma());
            java.util.Arrays.fill(beta, conf.getBeta());
        } else {
            gamma = StrBatchNormalizationLayer.read(p.get("gamma"));
            beta = StrBatchNormalizationLayer.read(p.get("beta"));
        }
        double[] mean = StrBatchNormalizationLayer.read(p.get("mean"));
        double[] var;
        if (p.containsKey("var")) {
            var = StrBatchNormalizationLayer.read(p.get("var"));
        } else if (p.containsKey("log10stdev")) {
            // DL4J's log10(std) with std = sqrt(var + eps)
            double[] l = StrBatchNormalizationLayer.read(p.get("log10stdev"));
            var = new double[c];
            for (int i = 0; i < c; i++) {
                double std = Math.pow(10, l[i]);
                var[i] = std * std - conf.getEps();
            }
        } else {
            throw new IllegalArgumentException("batch norm " + name + " has neither 'var' nor 'log10stdev': " + p.keySet());
        }
        // gamma is stored in float: the layer's gamma and beta_hat must reproduce gamma * x_hat + beta
        float[] g = new float[c];
        double[] betaHat = new double[c];
        int zeros = 0;
        for (int i = 0; i < c; i++) {
            g[i] = (float) gamma[i];
            if (g[i] == 0f) {
                g[i] = ZERO_GAMMA;
                zeros++;
            }
            betaHat[i] = beta[i] / g[i];
        }
        double[] gd = new double[c];
        for (int i = 0; i < c; i++) {
            gd[i] = g[i];
        }
        StrBatchNormalizationLayer.write(gd, to.getParam(StrBatchNormalization.GAMMA));
        StrBatchNormalizationLayer.write(betaHat, to.getParam(StrBatchNormalization.BETA));
        StrBatchNormalizationLayer.write(mean, to.getParam(StrBatchNormalization.MEAN));
        StrBatchNormalizationLayer.write(var, to.getParam(StrBatchNormalization.VAR));
        return zeros;
    }

    private static void copyAll(org.deeplearning4j.nn.api.Layer from, org.deeplearning4j.nn.api.Layer to, String name) {
        if (from == null) {
            throw new IllegalStateException("no layer " + name + " in the trained graph");
        }
        for (Map.Entry<String, INDArray> e : to.paramTable().entrySet()) {
            INDArray v = from.paramTable().get(e.getKey());
            if (v == null || !java.util.Arrays.equals(v.shape(), e.getValue().shape())) {
                throw new IllegalStateException("layer " + name + " parameter " + e.getKey() + " does not match the trained graph");
            }
            e.getValue().assign(v);
        }
    }
}
