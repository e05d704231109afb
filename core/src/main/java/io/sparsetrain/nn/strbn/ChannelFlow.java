package io.sparsetrain.nn.strbn;

import io.sparsetrain.nn.layers.FastRelu;
import io.sparsetrain.nn.layers.SparseConvolution;
import io.sparsetrain.nn.layers.SparseDense;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;

/**
 * How channels flow through a computation graph, for filter removal. Every convolution or hidden dense
 * layer ("producer") starts a channel space of nOut channels; batch norms, activations, pooling, global
 * pooling and dropout pass it on channel by channel; an element-wise Add joins the spaces of its inputs
 * into one (a residual stream: channel c of every branch is the same channel). Convolutions, dense
 * layers and the output layer consume a space (a dense layer after a CNN-to-feed-forward preprocessor
 * reads channel c as the block of H*W inputs [c*H*W, (c+1)*H*W)). Anything else is rejected with the
 * vertex name, so removal never silently mis-slices a graph it does not understand.
 */
final class ChannelFlow {

    enum Kind { INPUT, PRODUCER, OUTPUT, BATCH_NORM, PASS, ADD }

    /** One vertex: its kind, inputs, layer configuration (null for INPUT/ADD) and output space. */
    static final class Node {
        final String name;
        final Kind kind;
        final List<String> inputs;
        final Layer layer;
        final InputPreProcessor preProcessor;
        /** Inputs per channel of its input space (H*W after a CNN-to-feed-forward preprocessor, else 1). */
        final int block;
        int space = -1;

        Node(String name, Kind kind, List<String> inputs, Layer layer, InputPreProcessor pre, int block) {
            this.name = name;
            this.kind = kind;
            this.inputs = inputs;
            this.layer = layer;
            this.preProcessor = pre;
            this.block = block;
        }

        /** The consumed space (the first input's). */
        String input() {
            return inputs.get(0);
        }
    }

    private final Map<String, Node> nodes = new LinkedHashMap<>();
    private final List<String> order = new ArrayList<>();
    private final List<Integer> parent = new ArrayList<>();
    private final List<Integer> channels = new ArrayList<>();
    private final Map<String, List<String>> consumers = new HashMap<>();

    private ChannelFlow() {
    }

    /**
     * Analyses an initialised graph.
     *
     * @throws IllegalArgumentException naming the first vertex that is not supported
     */
    static ChannelFlow of(ComputationGraph graph) {
        ComputationGraphConfiguration conf = graph.getConfiguration();
        ChannelFlow f = new ChannelFlow();
        int[] topo = graph.topologicalSortOrder();
        org.deeplearning4j.nn.graph.vertex.GraphVertex[] vs = graph.getVertices();
        for (int idx : topo) {
            f.add(conf, vs[idx].getVertexName());
        }
        return f;
    }

    private void add(ComputationGraphConfiguration conf, String name) {
        order.add(name);
        List<String> in = conf.getVertexInputs().get(name);
        List<String> inputs = in == null ? List.of() : List.copyOf(in);
        for (String i : inputs) {
            consumers.computeIfAbsent(i, k -> new ArrayList<>()).add(name);
        }
        if (conf.getNetworkInputs().contains(name)) {
            Node n = new Node(name, Kind.INPUT, inputs, null, null, 1);
            n.space = newSpace(-1);
            nodes.put(name, n);
            return;
        }
        GraphVertex v = conf.getVertices().get(name);
        if (v instanceof ElementWiseVertex e) {
            if (e.getOp() != ElementWiseVertex.Op.Add) {
                throw unsupported(name, "element-wise " + e.getOp() + " (only Add joins channels exactly)");
            }
            Node n = new Node(name, Kind.ADD, inputs, null, null, 1);
            int s = space(inputs.get(0));
            for (String i : inputs.subList(1, inputs.size())) {
                int t = space(i);
                if (channels(s) != channels(t)) {
                    throw new IllegalArgumentException("vertex " + name + " adds " + channels(s) + " channels of " + inputs.get(0)
                            + " to " + channels(t) + " channels of " + i);
                }
                s = union(s, t);
            }
            n.space = s;
            nodes.put(name, n);
            return;
        }
        if (!(v instanceof LayerVertex lv)) {
            throw unsupported(name, v == null ? "unknown vertex" : v.getClass().getSimpleName());
        }
        Layer l = lv.getLayerConf().getLayer();
        InputPreProcessor pre = lv.getPreProcessor();
        Kind kind = kindOf(name, l);
        int block = 1;
        if (pre != null) {
            if (!(pre instanceof CnnToFeedForwardPreProcessor c) || (kind != Kind.PRODUCER && kind != Kind.OUTPUT)
                    || l instanceof ConvolutionLayer) {
                throw unsupported(name, "input preprocessor " + pre.getClass().getSimpleName() + " before " + l.getClass().getSimpleName());
            }
            if (c.getFormat() != null && c.getFormat() != CNN2DFormat.NCHW) {
                throw unsupported(name, "CNN-to-feed-forward preprocessor in format " + c.getFormat() + " (NCHW only)");
            }
            block = Math.toIntExact(c.getInputHeight() * c.getInputWidth());
            if (channels(space(inputs.get(0))) >= 0 && c.getNumChannels() != channels(space(inputs.get(0)))) {
                throw new IllegalArgumentException("vertex " + name + ": preprocessor expects " + c.getNumChannels()
                        + " channels, its input " + inputs.get(0) + " has " + channels(space(inputs.get(0))));
            }
        }
        if (inputs.size() != 1) {
            throw unsupported(name, "layer with " + inputs.size() + " inputs");
        }
        Node n = new Node(name, kind, inputs, l, pre, block);
        switch (kind) {
            case PRODUCER -> {
                long nIn = ((FeedForwardLayer) l).getNIn();
                int inCh = channels(space(n.input()));
                if (inCh < 0) {
                    channels.set(find(space(n.input())), Math.toIntExact(nIn / block)); // the network input: learn its channels
                } else if (nIn != (long) inCh * block) {
                    throw new IllegalArgumentException("vertex " + name + " has nIn=" + nIn + " but its input " + n.input() + " has "
                            + channels(space(n.input())) + " channels x " + block);
                }
                n.space = newSpace(Math.toIntExact(((FeedForwardLayer) l).getNOut()));
            }
            case OUTPUT -> n.space = -1;
            default -> n.space = space(n.input());
        }
        nodes.put(name, n);
    }

    private static Kind kindOf(String name, Layer l) {
        if (l.getClass() == OutputLayer.class) {
            return Kind.OUTPUT;
        }
        if (l.getClass() == ConvolutionLayer.class || l instanceof SparseConvolution) {
            ConvolutionLayer c = (ConvolutionLayer) l;
            if (c.getCnn2dDataFormat() != null && c.getCnn2dDataFormat() != CNN2DFormat.NCHW) {
                throw unsupported(name, "convolution in format " + c.getCnn2dDataFormat() + " (NCHW only)");
            }
            return Kind.PRODUCER;
        }
        if (l.getClass() == DenseLayer.class || l instanceof SparseDense) {
            if (l instanceof DenseLayer d && d.isHasLayerNorm()) {
                throw unsupported(name, "dense layer with layer norm");
            }
            return Kind.PRODUCER;
        }
        if (l instanceof BatchNormalization b) {
            if (b.getCnn2DFormat() != null && b.getCnn2DFormat() != CNN2DFormat.NCHW) {
                throw unsupported(name, "batch norm in format " + b.getCnn2DFormat() + " (NCHW only)");
            }
            return Kind.BATCH_NORM;
        }
        if (l.getClass() == ActivationLayer.class || l.getClass() == FastRelu.class
                || l.getClass() == SubsamplingLayer.class || l.getClass() == GlobalPoolingLayer.class
                || l.getClass() == DropoutLayer.class) {
            if (l instanceof SubsamplingLayer s && s.getCnn2dDataFormat() != null && s.getCnn2dDataFormat() != CNN2DFormat.NCHW) {
                throw unsupported(name, "pooling in format " + s.getCnn2dDataFormat() + " (NCHW only)");
            }
            return Kind.PASS;
        }
        throw unsupported(name, l.getClass().getName());
    }

    static IllegalArgumentException unsupported(String vertex, String what) {
        return new IllegalArgumentException("STR-BN filter removal does not support vertex '" + vertex + "': " + what
                + "; supported: convolution, dense, batch norm, activation, max/avg pooling, global pooling, dropout, element-wise Add, "
                + "output layer, CNN-to-feed-forward preprocessor");
    }

    // ------------------------------------------------------------ channel spaces (union-find)

    private int newSpace(int c) {
        parent.add(parent.size());
        channels.add(c);
        return parent.size() - 1;
    }

    /** The root space id of vertex {@code name}'s output. */
    int space(String name) {
        Node n = nodes.get(name);
        if (n == null) {
            throw new IllegalStateException("vertex " + name + " not analysed yet");
        }
        if (n.space < 0) {
            throw new IllegalArgumentException("vertex " + name + " (output layer) feeds another vertex");
        }
        return find(n.space);
    }

    int find(int s) {
        while (parent.get(s) != s) {
            s = parent.get(s);
        }
        return s;
    }

    private int union(int a, int b) {
        a = find(a);
        b = find(b);
        if (a != b) {
            parent.set(b, a);
        }
        return a;
    }

    int channels(int space) {
        return channels.get(find(space));
    }

    /** True when the space is the network input (never removable). */
    boolean isInputSpace(int space) {
        int root = find(space);
        for (Node n : nodes.values()) {
            if (n.kind == Kind.INPUT && find(n.space) == root) {
                return true;
            }
        }
        return false;
    }

    // ------------------------------------------------------------ queries

    /** Vertex names in topological order. */
    List<String> order() {
        return order;
    }

    Node node(String name) {
        return nodes.get(name);
    }

    /** Vertices that take {@code name}'s output as an input. */
    List<String> consumersOf(String name) {
        return consumers.getOrDefault(name, List.of());
    }

    /** Producers (convolution / hidden dense layers) in topological order. */
    List<Node> producers() {
        List<Node> out = new ArrayList<>();
        for (String n : order) {
            if (nodes.get(n).kind == Kind.PRODUCER) {
                out.add(nodes.get(n));
            }
        }
        return out;
    }

    /** Producers whose output lies in {@code space}. */
    List<Node> producersOf(int space) {
        List<Node> out = new ArrayList<>();
        for (Node p : producers()) {
            if (find(p.space) == find(space)) {
                out.add(p);
            }
        }
        return out;
    }

    /** The batch norm that is the only consumer of producer {@code p}, or null when there is none. */
    Node batchNormAfter(Node p) {
        List<String> c = consumersOf(p.name);
        if (c.size() == 1 && nodes.get(c.get(0)).kind == Kind.BATCH_NORM) {
            return nodes.get(c.get(0));
        }
        for (String x : c) {
            if (nodes.get(x).kind == Kind.BATCH_NORM) {
                throw unsupported(p.name, "its output feeds batch norm " + x + " and also " + c
                        + " (a batch norm must be the only consumer of its convolution)");
            }
        }
        return null;
    }
}
