package io.sparsetrain.nn.convert;

import io.sparsetrain.nn.layers.FastAdd;
import io.sparsetrain.nn.layers.FastBatchNormalization;
import io.sparsetrain.nn.layers.FastRelu;
import io.sparsetrain.nn.layers.SparseConvolution;
import io.sparsetrain.nn.layers.SparseDense;
import io.sparsetrain.nn.layers.SparseLayerConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.databind.ObjectMapper;

/**
 * Converts DL4J networks between stock and sparse layers, keeping the weights.
 *
 * <p>{@code toSparse} replaces every plain {@link ConvolutionLayer} (exactly that class, NCHW: not
 * depthwise, separable, dilated-3D or deconvolution layers, which stay dense) and every
 * {@link DenseLayer} without layer norm by {@link SparseConvolution} / {@link SparseDense} with the
 * same settings, copies W and b and sets all-ones masks, and every NCHW {@link BatchNormalization}
 * by {@link FastBatchNormalization} (running variance recovered from DL4J's log10 std when the layer
 * stores that), every plain-ReLU {@link ActivationLayer} by {@link FastRelu} and every residual-sum
 * {@link ElementWiseVertex} (op Add) by {@link FastAdd}. The classifier (OutputLayer) stays stock. {@code toStock} does the reverse (batch
 * norm with {@code useLogStd=false}) and exports W*M, so the result is a plain DL4J model with the
 * pruned weights at zero. Both return a new initialised network; the original is unchanged. Updater
 * state (momentum, Adam moments) is not carried over: the new network starts a fresh updater.
 */
public final class SparseConversion {

    private SparseConversion() {
    }

    // ------------------------------------------------------------ to sparse

    public static ComputationGraph toSparse(ComputationGraph graph) {
        return toSparse(graph, Set.of());
    }

    /** As {@link #toSparse(ComputationGraph)}, leaving the layers named in {@code keepStock} stock. */
    public static ComputationGraph toSparse(ComputationGraph graph, Set<String> keepStock) {
        return convertGraph(graph, l -> keepStock.contains(l.getLayerName()) ? null : sparseConfig(l), true);
    }

    public static MultiLayerNetwork toSparse(MultiLayerNetwork network) {
        return toSparse(network, Set.of());
    }

    public static MultiLayerNetwork toSparse(MultiLayerNetwork network, Set<String> keepStock) {
        return convertNetwork(network, l -> keepStock.contains(l.getLayerName()) ? null : sparseConfig(l));
    }

    // ------------------------------------------------------------ to stock

    /** A plain DL4J graph with every sparse layer replaced by its stock layer holding W*M. */
    public static ComputationGraph toStock(ComputationGraph graph) {
        return convertGraph(graph, SparseConversion::stockConfig, false);
    }

    public static MultiLayerNetwork toStock(MultiLayerNetwork network) {
        return convertNetwork(network, SparseConversion::stockConfig);
    }

    /** True when {@code layer} is converted by {@code toSparse}. */
    public static boolean isConvertible(org.deeplearning4j.nn.conf.layers.Layer layer) {
        if (layer.getClass() == ConvolutionLayer.class) {
            ConvolutionLayer c = (ConvolutionLayer) layer;
            return (c.getCnn2dDataFormat() == null || c.getCnn2dDataFormat() == CNN2DFormat.NCHW) && c.getWeightNoise() == null;
        }
        if (layer.getClass() == BatchNormalization.class) {
            BatchNormalization b = (BatchNormalization) layer;
            return b.getCnn2DFormat() == null || b.getCnn2DFormat() == CNN2DFormat.NCHW;
        }
        if (layer.getClass() == DenseLayer.class) {
            DenseLayer d = (DenseLayer) layer;
            return !d.isHasLayerNorm() && d.getWeightNoise() == null;
        }
        if (layer.getClass() == ActivationLayer.class) {
            return FastRelu.isPlainRelu(((ActivationLayer) layer).getActivationFn());
        }
        return false;
    }

    private static org.deeplearning4j.nn.conf.layers.Layer sparseConfig(org.deeplearning4j.nn.conf.layers.Layer l) {
        if (!isConvertible(l)) {
            return null;
        }
        if (l instanceof BatchNormalization) {
            return retype(l, FastBatchNormalization.class);
        }
        if (l instanceof ActivationLayer) {
            return retype(l, FastRelu.class);
        }
        return retype(l, l instanceof ConvolutionLayer ? SparseConvolution.class : SparseDense.class);
    }

    private static org.deeplearning4j.nn.conf.layers.Layer stockConfig(org.deeplearning4j.nn.conf.layers.Layer l) {
        if (l instanceof SparseConvolution) {
            return retype(l, ConvolutionLayer.class);
        }
        if (l instanceof SparseDense) {
            return retype(l, DenseLayer.class);
        }
        if (l instanceof FastRelu) {
            return retype(l, ActivationLayer.class);
        }
        if (l instanceof FastBatchNormalization) {
            BatchNormalization b = (BatchNormalization) retype(l, BatchNormalization.class);
            b.setUseLogStd(false);
            return b;
        }
        return null;
    }

    /**
     * The same layer settings in another layer class, through DL4J's own JSON (both classes share
     * their fields; fields the target lacks, e.g. the frozen flag, are dropped).
     */
    static org.deeplearning4j.nn.conf.layers.Layer retype(org.deeplearning4j.nn.conf.layers.Layer l, Class<?> target) {
        ObjectMapper mapper = NeuralNetConfiguration.mapper();
        try {
            String json = mapper.writerFor(org.deeplearning4j.nn.conf.layers.Layer.class).writeValueAsString(l);
            String from = "\"@class\" : \"" + l.getClass().getName() + "\"";
            if (!json.contains(from)) {
                from = "\"@class\":\"" + l.getClass().getName() + "\"";
            }
            if (!json.contains(from)) {
                throw new IllegalStateException("cannot find the layer class in DL4J's JSON of layer " + l.getLayerName());
            }
            String to = from.replace(l.getClass().getName(), target.getName());
            return mapper.readValue(json.replace(from, to), org.deeplearning4j.nn.conf.layers.Layer.class);
        } catch (IOException e) {
            throw new UncheckedIOException("converting layer " + l.getLayerName() + " to " + target.getSimpleName(), e);
        }
    }

    // ------------------------------------------------------------ plumbing

    /** Layers through {@code convert}; residual sums to {@link FastAdd} ({@code toOurs}) or to DL4J's vertex. */
    private static ComputationGraph convertGraph(ComputationGraph graph,
                                                 Function<org.deeplearning4j.nn.conf.layers.Layer, org.deeplearning4j.nn.conf.layers.Layer> convert,
                                                 boolean toOurs) {
        ComputationGraphConfiguration conf = graph.getConfiguration().clone();
        for (Map.Entry<String, GraphVertex> e : conf.getVertices().entrySet()) {
            if (e.getValue() instanceof LayerVertex v) {
                org.deeplearning4j.nn.conf.layers.Layer replacement = convert.apply(v.getLayerConf().getLayer());
                if (replacement != null) {
                    v.getLayerConf().setLayer(replacement);
                }
            } else if (toOurs && e.getValue().getClass() == ElementWiseVertex.class
                    && ((ElementWiseVertex) e.getValue()).getOp() == ElementWiseVertex.Op.Add) {
                e.setValue(new FastAdd());
            } else if (!toOurs && e.getValue() instanceof FastAdd) {
                e.setValue(new ElementWiseVertex(ElementWiseVertex.Op.Add));
            }
        }
        ComputationGraph out = new ComputationGraph(conf);
        out.init();
        for (Layer target : out.getLayers()) {
            copyParams(graph.getLayer(target.conf().getLayer().getLayerName()), target);
        }
        return out;
    }

    private static MultiLayerNetwork convertNetwork(MultiLayerNetwork network,
                                                    Function<org.deeplearning4j.nn.conf.layers.Layer, org.deeplearning4j.nn.conf.layers.Layer> convert) {
        MultiLayerConfiguration conf = network.getLayerWiseConfigurations().clone();
        for (int i = 0; i < conf.getConfs().size(); i++) {
            NeuralNetConfiguration c = conf.getConf(i);
            org.deeplearning4j.nn.conf.layers.Layer replacement = convert.apply(c.getLayer());
            if (replacement != null) {
                c.setLayer(replacement);
            }
        }
        MultiLayerNetwork out = new MultiLayerNetwork(conf);
        out.init();
        for (int i = 0; i < out.getnLayers(); i++) {
            copyParams(network.getLayer(i), out.getLayer(i));
        }
        return out;
    }

    /** Copies W (times M when the source is sparse and the target is not), b and every other shared parameter. */
    private static void copyParams(Layer from, Layer to) {
        Map<String, INDArray> src = from.paramTable();
        Map<String, INDArray> dst = to.paramTable();
        INDArray mask = src.get(SparseLayerConfig.MASK_KEY);
        for (Map.Entry<String, INDArray> e : dst.entrySet()) {
            String key = e.getKey();
            INDArray value = src.get(key);
            if (value == null && key.equals(FastBatchNormalization.VAR) && src.containsKey("log10stdev")) {
                // DL4J's log10(std) with std = sqrt(var + eps)
                double eps = ((BatchNormalization) from.conf().getLayer()).getEps();
                INDArray std = org.nd4j.linalg.ops.transforms.Transforms.pow(org.nd4j.linalg.factory.Nd4j.valueArrayOf(
                        src.get("log10stdev").shape(), 10.0, src.get("log10stdev").dataType()), src.get("log10stdev"), true);
                value = std.muli(std).subi(eps);
            }
            if (value == null) {
                if (SparseLayerConfig.MASK_KEY.equals(key)) {
                    continue; // a new sparse layer: all-ones mask from init
                }
                throw new IllegalStateException("layer " + from.conf().getLayer().getLayerName() + " has no parameter " + key);
            }
            if (key.equals("W") && mask != null && !dst.containsKey(SparseLayerConfig.MASK_KEY)) {
                value = value.mul(mask);
            }
            if (!java.util.Arrays.equals(value.shape(), e.getValue().shape())) {
                throw new IllegalStateException("layer " + from.conf().getLayer().getLayerName() + " parameter " + key + ": shape "
                        + java.util.Arrays.toString(value.shape()) + " vs " + java.util.Arrays.toString(e.getValue().shape()));
            }
            e.getValue().assign(value);
        }
    }
}
