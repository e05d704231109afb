package io.sparsetrain.nn.strbn;

import io.sparsetrain.kernels.NmFormat;
import io.sparsetrain.learn.strbn.FilterRemovalPlan;
import io.sparsetrain.nn.layers.FastBatchNormalization;
import io.sparsetrain.nn.layers.SparseLayer;
import io.sparsetrain.nn.layers.SparseLayerConfig;
import io.sparsetrain.nn.strbn.ChannelFlow.Kind;
import io.sparsetrain.nn.strbn.ChannelFlow.Node;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Physical filter removal from a trained STR-BN graph (METHODS.md section 4): a smaller dense DL4J graph
 * without the dead channels.
 *
 * <p>A dead STR-BN channel (gamma_eff = 0) outputs exactly 0; downstream it is a constant k (act(0) after
 * an activation layer, sums at an Add, unchanged by max/avg pooling and global pooling). Removing it takes
 * out the filter of the convolution or dense layer that produced it, its batch-norm entry, and the input
 * slice of every consuming layer (input channel c of a convolution, inputs [c*H*W, (c+1)*H*W) of a dense
 * layer after flattening, input c after global pooling), and adds {@code k * sum of the removed weights} to
 * the consumer's bias (nothing to add in ReLU networks, where k = 0). Where that fold would not be exact
 * (k != 0 into a zero-padded convolution or padded pooling, into a layer without bias, or through sum/p-norm
 * pooling) the channel stays.
 *
 * <p><b>Residual blocks.</b> An element-wise Add joins its inputs' channels into one channel space (the
 * residual stream, spanning a whole ResNet stage: stem or projection, and every block's last conv). A
 * channel of that space is removed only where it is dead in every batch norm feeding the space
 * ({@link FilterRemovalPlan#forResidualBranch}'s rule generalised to all branches); otherwise it stays in
 * every layer of the space, dead or not. Channels inside a block (conv1 -&gt; BN1 -&gt; ReLU -&gt; conv2)
 * follow the plain rule. Every space keeps at least one channel.
 *
 * <p>The smaller graph has the trained graph's layer classes and settings (given the original graph):
 * sparse layers stay sparse with their masks sliced (a frozen N:M format is restored when the sliced mask
 * still satisfies it, else the layer is left unfrozen on the dense path, noted), each STR-BN layer becomes
 * the batch norm it replaced in standard form (gamma = gamma_eff, beta = gamma_eff * beta_hat), and an
 * inserted STR-BN becomes a {@link FastBatchNormalization}.
 */
public final class StrBnRemoval {

    private StrBnRemoval() {
    }

    /**
     * The smaller graph and what was removed.
     *
     * @param graph the smaller graph (initialised, parameters set)
     * @param layers per convolution / hidden dense layer, in topological order
     * @param notes dead channels that stayed and why, re-freezing results
     */
    public record Removed(ComputationGraph graph, List<LayerRemoval> layers, List<String> notes) {
    }

    /**
     * Removes the dead filters of {@code strGraph}.
     *
     * @param original the graph {@code strGraph} was converted from (its layer classes and settings are
     *     kept), or null to derive everything from {@code strGraph}
     * @throws IllegalArgumentException naming the vertex when a vertex is not supported or a convolution /
     *     dense layer is not followed directly by an STR-BN layer
     */
    public static Removed remove(ComputationGraph strGraph, ComputationGraph original) {
        ChannelFlow flow = ChannelFlow.of(strGraph);
        List<String> notes = new ArrayList<>();
        Map<String, Layer> originals = new HashMap<>();
        if (original != null) {
            for (Map.Entry<String, GraphVertex> e : original.getConfiguration().getVertices().entrySet()) {
                if (e.getValue() instanceof LayerVertex lv) {
                    originals.put(e.getKey(), lv.getLayerConf().getLayer());
                }
            }
        }
        // every batch norm directly after its producer, STR form
        Map<String, BnState> bns = new LinkedHashMap<>();
        Map<String, String> producerOfBn = new HashMap<>();
        for (Node p : flow.producers()) {
            Node bn = flow.batchNormAfter(p);
            if (bn == null || !(bn.layer instanceof StrBatchNormalization)) {
                throw ChannelFlow.unsupported(p.name, "not followed directly by an STR-BN layer"
                        + (bn == null ? "" : " (" + bn.name + " is " + bn.layer.getClass().getSimpleName() + ")")
                        + "; convert the graph with StrBnConversion first");
            }
            bns.put(bn.name, BnState.of((StrBatchNormalizationLayer) strGraph.getLayer(bn.name)));
            producerOfBn.put(bn.name, p.name);
        }
        for (String name : flow.order()) {
            Node n = flow.node(name);
            if (n.kind == Kind.BATCH_NORM && !producerOfBn.containsKey(name)) {
                throw ChannelFlow.unsupported(name, "batch norm that does not directly follow a convolution or dense layer");
            }
        }
        // dead channels per space: dead in every batch norm of the space
        Map<Integer, boolean[]> dead = new HashMap<>();
        Map<Integer, float[]> maxGamma = new HashMap<>();
        for (Node p : flow.producers()) {
            int s = flow.space(p.name);
            BnState b = bns.get(flow.batchNormAfter(p).name);
            boolean[] d = dead.computeIfAbsent(s, k -> filled(flow.channels(k)));
            float[] mg = maxGamma.computeIfAbsent(s, k -> new float[flow.channels(k)]);
            for (int c = 0; c < d.length; c++) {
                d[c] &= b.dead[c];
                mg[c] = (float) Math.max(mg[c], Math.abs(b.gamma[c]));
            }
        }
        // the constant each dead channel carries at every vertex, and where it cannot be folded exactly
        Map<String, double[]> constant = new HashMap<>();
        Map<Integer, boolean[]> unfoldable = new HashMap<>();
        for (String name : flow.order()) {
            Node n = flow.node(name);
            switch (n.kind) {
                case BATCH_NORM -> {
                    BnState b = bns.get(name);
                    double[] k = new double[b.dead.length];
                    for (int c = 0; c < k.length; c++) {
                        k[c] = b.dead[c] ? 0 : Double.NaN;
                    }
                    constant.put(name, k);
                }
                case ADD -> {
                    double[] k = null;
                    for (String in : n.inputs) {
                        double[] ki = constant.get(in);
                        if (ki == null) {
                            k = null;
                            break;
                        }
                        if (k == null) {
                            k = ki.clone();
                        } else {
                            for (int c = 0; c < k.length; c++) {
                                k[c] += ki[c];
                            }
                        }
                    }
                    if (k != null) {
                        constant.put(name, k);
                    }
                }
                case PASS -> {
                    double[] ki = constant.get(n.input());
                    if (ki != null) {
                        constant.put(name, passConstant(n, ki, flow, unfoldable, notes));
                    }
                }
                case PRODUCER, OUTPUT -> {
                    double[] ki = constant.get(n.input());
                    if (ki != null) {
                        checkFold(n, ki, flow, unfoldable, notes);
                    }
                }
                default -> {
                }
            }
        }
        // plans
        Map<Integer, FilterRemovalPlan> plans = new HashMap<>();
        for (Map.Entry<Integer, boolean[]> e : dead.entrySet()) {
            boolean[] r = e.getValue().clone();
            boolean[] u = unfoldable.get(e.getKey());
            for (int c = 0; c < r.length; c++) {
                r[c] &= u == null || !u[c];
            }
            plans.put(e.getKey(), FilterRemovalPlan.forDeadChannels(r, maxGamma.get(e.getKey())));
        }
        for (Node p : flow.producers()) {
            BnState b = bns.get(flow.batchNormAfter(p).name);
            FilterRemovalPlan plan = plans.get(flow.space(p.name));
            int stay = 0;
            for (int c = 0; c < b.dead.length; c++) {
                stay += b.dead[c] && !plan.isRemoved(c) ? 1 : 0;
            }
            if (stay > 0 && flow.producersOf(flow.space(p.name)).size() > 1) {
                notes.add(p.name + ": " + stay + " dead filters stay (their channel is live in another branch of the residual stream "
                        + flow.producersOf(flow.space(p.name)).stream().map(x -> x.name).toList() + ", or all were dead)");
            }
        }

        // the smaller configuration
        ComputationGraphConfiguration conf = strGraph.getConfiguration().clone();
        Map<String, NmFormat> refreeze = new HashMap<>();
        Map<String, Boolean> wasFrozen = new HashMap<>();
        for (String name : flow.order()) {
            Node n = flow.node(name);
            if (n.kind == Kind.INPUT || n.kind == Kind.ADD) {
                continue;
            }
            LayerVertex lv = (LayerVertex) conf.getVertices().get(name);
            Layer src = originals.getOrDefault(name, n.layer);
            Layer l;
            if (n.kind == Kind.BATCH_NORM) {
                l = standardBatchNorm(name, src, n, originals.get(producerOfBn.get(name)), plans.get(flow.space(name)).keptCount());
            } else {
                l = src.clone();
                if (n.kind == Kind.PRODUCER || n.kind == Kind.OUTPUT) {
                    FeedForwardLayer f = (FeedForwardLayer) l;
                    f.setNIn((long) kept(flow, plans, n.input()) * n.block);
                    if (n.kind == Kind.PRODUCER) {
                        f.setNOut(plans.get(flow.space(name)).keptCount());
                    }
                    if (l instanceof SparseLayerConfig s) {
                        wasFrozen.put(name, s.isFrozen());
                        refreeze.put(name, s.frozenFormat());
                        s.setFrozen(false, null);
                    }
                    if (n.preProcessor instanceof CnnToFeedForwardPreProcessor c) {
                        lv.setPreProcessor(new CnnToFeedForwardPreProcessor(c.getInputHeight(), c.getInputWidth(),
                                kept(flow, plans, n.input()), c.getFormat()));
                    }
                }
            }
            l.setLayerName(name);
            lv.getLayerConf().setLayer(l);
        }
        if (original != null) {
            conf.setIterationCount(original.getConfiguration().getIterationCount());
            conf.setEpochCount(original.getConfiguration().getEpochCount());
        }
        conf.setTopologicalOrder(null);
        conf.setTopologicalOrderStr(null);
        ComputationGraph out = new ComputationGraph(conf);
        out.init();

        // parameters
        List<LayerRemoval> report = new ArrayList<>();
        for (String name : flow.order()) {
            Node n = flow.node(name);
            org.deeplearning4j.nn.api.Layer to = out.getLayer(name);
            org.deeplearning4j.nn.api.Layer from = strGraph.getLayer(name);
            switch (n.kind) {
                case BATCH_NORM -> {
                    BnState b = bns.get(name);
                    int[] keep = plans.get(flow.space(name)).keptChannels();
                    double[] g = new double[keep.length];
                    double[] beta = new double[keep.length];
                    for (int i = 0; i < keep.length; i++) {
                        g[i] = b.gamma[keep[i]];
                        beta[i] = b.gamma[keep[i]] * b.betaHat[keep[i]];
                    }
                    write(g, to.getParam("gamma"));
                    write(beta, to.getParam("beta"));
                    write(pick(b.mean, keep), to.getParam("mean"));
                    write(pick(b.var, keep), to.getParam("var"));
                }
                case PRODUCER, OUTPUT -> {
                    int[] keepIn = keptChannels(flow, plans, n.input());
                    int[] keepOut = n.kind == Kind.PRODUCER ? plans.get(flow.space(name)).keptChannels() : null;
                    sliceLayer(n, from, to, keepIn, keepOut, constant.get(n.input()), removedSet(flow, plans, n.input()));
                    if (n.kind == Kind.PRODUCER) {
                        BnState b = bns.get(flow.batchNormAfter(n).name);
                        report.add(new LayerRemoval(name, flow.batchNormAfter(n).name, b.dead.length, count(b.dead), keepOut.length));
                    }
                    if (Boolean.TRUE.equals(wasFrozen.get(name)) && to instanceof SparseLayer s) {
                        NmFormat nm = refreeze.get(name);
                        try {
                            s.freeze(nm);
                        } catch (IllegalArgumentException e) {
                            s.freeze(null);
                            notes.add(name + ": the sliced mask is no longer " + nm + "; frozen on the dense path");
                        }
                    }
                }
                default -> {
                    if (to != null && to.numParams() > 0) {
                        for (Map.Entry<String, INDArray> e : to.paramTable().entrySet()) {
                            e.getValue().assign(from.getParam(e.getKey()));
                        }
                    }
                }
            }
        }
        return new Removed(out, List.copyOf(report), List.copyOf(notes));
    }

    // ------------------------------------------------------------ constants

    private static double[] passConstant(Node n, double[] k, ChannelFlow flow, Map<Integer, boolean[]> unfoldable, List<String> notes) {
        Layer l = n.layer;
        double[] out = k.clone();
        if (l instanceof ActivationLayer a) {
            INDArray v = Nd4j.createFromArray(k.clone());
            INDArray r = a.getActivationFn().getActivation(v, false);
            for (int c = 0; c < k.length; c++) {
                out[c] = Double.isNaN(k[c]) ? Double.NaN : r.getDouble(c);
            }
            return out;
        }
        boolean exactForNonZero = true;
        String why = null;
        if (l instanceof SubsamplingLayer s) {
            boolean padded = s.getConvolutionMode() == ConvolutionMode.Same || Arrays.stream(s.getPadding()).anyMatch(p -> p > 0);
            if (s.getPoolingType() == org.deeplearning4j.nn.conf.layers.PoolingType.PNORM || padded) {
                exactForNonZero = false;
                why = "pooling " + s.getPoolingType() + (padded ? " with padding" : "");
            }
        } else if (l instanceof GlobalPoolingLayer g) {
            if (g.getPoolingType() != PoolingType.AVG && g.getPoolingType() != PoolingType.MAX) {
                exactForNonZero = false;
                why = "global " + g.getPoolingType() + " pooling";
            }
        }
        if (!exactForNonZero) {
            markNonZero(flow.space(n.input()), k, unfoldable, n.name, why, notes);
        }
        return out;
    }

    private static void checkFold(Node n, double[] k, ChannelFlow flow, Map<Integer, boolean[]> unfoldable, List<String> notes) {
        Layer l = n.layer;
        String why = null;
        if (l instanceof ConvolutionLayer c) {
            boolean padded = c.getConvolutionMode() == ConvolutionMode.Same || Arrays.stream(c.getPadding()).anyMatch(p -> p > 0);
            if (padded) {
                why = "zero-padded convolution";
            } else if (!c.hasBias()) {
                why = "convolution without bias";
            }
        } else if (!hasBias(n)) {
            why = "layer without bias";
        }
        if (why != null) {
            markNonZero(flow.space(n.input()), k, unfoldable, n.name, why, notes);
        }
    }

    private static boolean hasBias(Node n) {
        if (n.layer instanceof SparseLayerConfig s) {
            return s.hasBias();
        }
        if (n.layer instanceof org.deeplearning4j.nn.conf.layers.DenseLayer d) {
            return d.hasBias();
        }
        if (n.layer instanceof org.deeplearning4j.nn.conf.layers.BaseOutputLayer o) {
            return o.hasBias();
        }
        return false;
    }

    private static void markNonZero(int space, double[] k, Map<Integer, boolean[]> unfoldable, String vertex, String why, List<String> notes) {
        boolean[] u = unfoldable.computeIfAbsent(space, s -> new boolean[k.length]);
        int n = 0;
        for (int c = 0; c < k.length; c++) {
            if (!Double.isNaN(k[c]) && k[c] != 0) {
                u[c] = true;
                n++;
            }
        }
        if (n > 0) {
            notes.add(vertex + ": " + n + " dead channels carry a non-zero constant into a " + why + "; they stay (no exact fold)");
        }
    }

    // ------------------------------------------------------------ slicing

    private static void sliceLayer(Node n, org.deeplearning4j.nn.api.Layer from, org.deeplearning4j.nn.api.Layer to, int[] keepIn,
                                   int[] keepOut, double[] k, int[] removedIn) {
        boolean conv = n.layer instanceof ConvolutionLayer;
        INDArray w = from.getParam("W");
        long[] shape = w.shape();
        double[] wv = StrBatchNormalizationLayer.read(w);
        double[] bias = from.paramTable().containsKey("b") ? StrBatchNormalizationLayer.read(from.getParam("b")) : null;
        int block = n.block;
        if (conv) {
            int cout = (int) shape[0];
            int cin = (int) shape[1];
            int taps = (int) (shape[2] * shape[3]);
            int[] outIdx = keepOut == null ? range(cout) : keepOut;
            if (bias != null && k != null) {
                for (int c : removedIn) {
                    if (!Double.isNaN(k[c]) && k[c] != 0) {
                        for (int o = 0; o < cout; o++) {
                            double s = 0;
                            for (int t = 0; t < taps; t++) {
                                s += wv[(o * cin + c) * taps + t];
                            }
                            bias[o] += k[c] * s;
                        }
                    }
                }
            }
            for (String key : new String[] {"W", SparseLayerConfig.MASK_KEY}) {
                if (!from.paramTable().containsKey(key)) {
                    continue;
                }
                double[] src = key.equals("W") ? wv : StrBatchNormalizationLayer.read(from.getParam(key));
                double[] dst = new double[outIdx.length * keepIn.length * taps];
                for (int i = 0; i < outIdx.length; i++) {
                    for (int j = 0; j < keepIn.length; j++) {
                        System.arraycopy(src, (outIdx[i] * cin + keepIn[j]) * taps, dst, (i * keepIn.length + j) * taps, taps);
                    }
                }
                write(dst, to.getParam(key));
            }
            if (bias != null) {
                write(pick(bias, outIdx), to.getParam("b"));
            }
            return;
        }
        // dense / output: W [nIn, nOut], input i = c * block + t
        int nIn = (int) shape[0];
        int nOut = (int) shape[1];
        int[] outIdx = keepOut == null ? range(nOut) : keepOut;
        if (bias != null && k != null) {
            for (int c : removedIn) {
                if (!Double.isNaN(k[c]) && k[c] != 0) {
                    for (int o = 0; o < nOut; o++) {
                        double s = 0;
                        for (int t = 0; t < block; t++) {
                            s += wv[(c * block + t) * nOut + o];
                        }
                        bias[o] += k[c] * s;
                    }
                }
            }
        }
        for (String key : new String[] {"W", SparseLayerConfig.MASK_KEY}) {
            if (!from.paramTable().containsKey(key)) {
                continue;
            }
            double[] src = key.equals("W") ? wv : StrBatchNormalizationLayer.read(from.getParam(key));
            double[] dst = new double[keepIn.length * block * outIdx.length];
            for (int j = 0; j < keepIn.length; j++) {
                for (int t = 0; t < block; t++) {
                    int row = keepIn[j] * block + t;
                    int newRow = j * block + t;
                    for (int i = 0; i < outIdx.length; i++) {
                        dst[newRow * outIdx.length + i] = src[row * nOut + outIdx[i]];
                    }
                }
            }
            write(dst, to.getParam(key));
        }
        if (bias != null) {
            write(pick(bias, outIdx), to.getParam("b"));
        }
        assert nIn == keepIn.length * block + (removedIn.length * block);
    }

    private static Layer standardBatchNorm(String name, Layer src, Node n, Layer producerOriginal, int channels) {
        BatchNormalization b;
        if (src instanceof BatchNormalization orig && !(src instanceof StrBatchNormalization)) {
            b = (BatchNormalization) orig.clone();
            b.setLockGammaBeta(false);
            b.setUseLogStd(false);
        } else {
            StrBatchNormalization s = (StrBatchNormalization) n.layer;
            b = new FastBatchNormalization.Builder().eps(s.getEps()).decay(s.getDecay()).build();
            if (producerOriginal instanceof BaseLayer p) {
                b.setIUpdater(p.getIUpdater());
                b.setRegularization(p.getRegularization());
            } else {
                b.setIUpdater(s.getIUpdater());
                b.setRegularization(s.getRegularization());
            }
        }
        b.setNIn(channels);
        b.setNOut(channels);
        b.setLayerName(name);
        return b;
    }

    // ------------------------------------------------------------ helpers

    /** gamma, gamma_eff, beta_hat, running statistics and dead channels of one STR-BN layer. */
    private record BnState(double[] gamma, double[] betaHat, double[] mean, double[] var, boolean[] dead) {
        static BnState of(StrBatchNormalizationLayer l) {
            return new BnState(l.effectiveGamma(), StrBatchNormalizationLayer.read(l.getParam(StrBatchNormalization.BETA)),
                    StrBatchNormalizationLayer.read(l.getParam(StrBatchNormalization.MEAN)),
                    StrBatchNormalizationLayer.read(l.getParam(StrBatchNormalization.VAR)), l.deadChannels());
        }
    }

    private static int kept(ChannelFlow flow, Map<Integer, FilterRemovalPlan> plans, String vertex) {
        return keptChannels(flow, plans, vertex).length;
    }

    private static int[] keptChannels(ChannelFlow flow, Map<Integer, FilterRemovalPlan> plans, String vertex) {
        int s = flow.space(vertex);
        FilterRemovalPlan p = plans.get(s);
        return p == null ? range(flow.channels(s)) : p.keptChannels();
    }

    private static int[] removedSet(ChannelFlow flow, Map<Integer, FilterRemovalPlan> plans, String vertex) {
        FilterRemovalPlan p = plans.get(flow.space(vertex));
        return p == null ? new int[0] : p.removedChannels();
    }

    private static boolean[] filled(int n) {
        boolean[] b = new boolean[n];
        Arrays.fill(b, true);
        return b;
    }

    private static int count(boolean[] b) {
        int n = 0;
        for (boolean x : b) {
            n += x ? 1 : 0;
        }
        return n;
    }

    private static int[] range(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }

    private static double[] pick(double[] a, int[] idx) {
        double[] out = new double[idx.length];
        for (int i = 0; i < idx.length; i++) {
            out[i] = a[idx[i]];
        }
        return out;
    }

    private static void write(double[] v, INDArray dst) {
        if (v.length != dst.length()) {
            throw new IllegalStateException("writing " + v.length + " values into an array of shape " + Arrays.toString(dst.shape()));
        }
        dst.assign(Nd4j.create(v, dst.shape(), 'c').castTo(dst.dataType() == null ? DataType.FLOAT : dst.dataType()));
    }
}
