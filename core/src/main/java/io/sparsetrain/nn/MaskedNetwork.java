package io.sparsetrain.nn;

import io.sparsetrain.kernels.NmFormat;
import io.sparsetrain.nn.layers.SparseLayer;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskChecksum;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.nm.NmGroupOrder;
import io.sparsetrain.prune.nm.NmMagnitudePruner;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.TrainingListener;

/**
 * The pruning view of a DL4J network built on sparse layers: lists its prunable layers (every
 * {@link SparseLayer}: sparse convolutions and dense layers, named by vertex name or layer index),
 * reads and applies their masks, and freezes them. The driver calls these after every averaging
 * round; workers keep masked weights at zero with {@link MaskEnforcingListener}.
 */
public final class MaskedNetwork {

    /** The N:M format {@link #freeze()} tries first: 2:4. */
    public static final NmFormat DEFAULT_NM = NmFormat.TWO_FOUR;

    private final Model model;
    private final Map<String, SparseLayer> layers;

    private MaskedNetwork(Model model, Layer[] all) {
        this.model = model;
        this.layers = new LinkedHashMap<>();
        for (Layer l : all) {
            if (l instanceof SparseLayer s) {
                SparseLayer prev = layers.put(s.layerName(), s);
                if (prev != null) {
                    throw new IllegalArgumentException("two sparse layers are named " + s.layerName());
                }
            }
        }
    }

    public static MaskedNetwork of(ComputationGraph graph) {
        return new MaskedNetwork(Objects.requireNonNull(graph, "graph"), graph.getLayers());
    }

    public static MaskedNetwork of(MultiLayerNetwork network) {
        return new MaskedNetwork(Objects.requireNonNull(network, "network"), network.getLayers());
    }

    /** The wrapped network. */
    public Model model() {
        return model;
    }

    /** The sparse layers by name, in network order. */
    public Map<String, SparseLayer> sparseLayers() {
        return java.util.Collections.unmodifiableMap(layers);
    }

    /** Copies of the weights of every sparse layer, in the GEMM view of {@link io.sparsetrain.prune.LayerShape}. */
    public List<PrunableLayer> prunableLayers() {
        List<PrunableLayer> out = new ArrayList<>(layers.size());
        for (SparseLayer l : layers.values()) {
            out.add(new PrunableLayer(l.layerName(), l.maskShape(), l.weights()));
        }
        return out;
    }

    /** The current mask of every sparse layer. */
    public MaskSet masks() {
        MaskSet.Builder b = MaskSet.builder();
        for (SparseLayer l : layers.values()) {
            b.put(l.layerName(), Mask.fromFloats(l.maskShape(), l.mask()));
        }
        return b.build();
    }

    /**
     * Sets the masks named in {@code masks} (other layers keep theirs) and zeroes the pruned weights.
     *
     * @throws IllegalArgumentException for an unknown layer name or a shape that does not match
     * @throws IllegalStateException if a frozen layer would get a different mask
     */
    public void applyMasks(MaskSet masks) {
        for (String name : masks.names()) {
            SparseLayer l = layer(name);
            Mask m = masks.get(name);
            if (!m.shape().equals(l.maskShape())) {
                throw new IllegalArgumentException("layer " + name + ": mask shape " + m.shape() + " does not match the layer's " + l.maskShape());
            }
        }
        for (String name : masks.names()) {
            layer(name).setMask(masks.get(name).toFloatArray());
        }
    }

    /** Re-applies W *= M on every sparse layer; returns the number of weights that had come back. */
    public int enforceMasks() {
        int n = 0;
        for (SparseLayer l : layers.values()) {
            n += l.enforceMask();
        }
        return n;
    }

    /** Freezes the current masks; layers whose mask is 2:4 switch to the compressed kernels. */
    public void freeze() {
        freeze(DEFAULT_NM);
    }

    /** Applies {@code masks}, then freezes as {@link #freeze()}. */
    public void freeze(MaskSet masks) {
        applyMasks(masks);
        freeze(DEFAULT_NM);
    }

    /**
     * Freezes every sparse layer's current mask. A layer whose mask satisfies {@code nm} (null: none)
     * computes on the compressed N:M kernels from now on; the others stay on the dense path. N:M
     * groups run along the layer's own K order or, for a convolution, channel-wise
     * ({@link NmGroupOrder#CHANNEL}: M input channels at one kernel position, as Apex ASP and learned
     * channel-wise masks make them), which the layer then computes in that K order. A mask made with an
     * input-channel permutation (ChannelPermutationSearch) is N:M only in the permuted order and freezes
     * on the dense path.
     */
    public void freeze(NmFormat nm) {
        for (SparseLayer l : layers.values()) {
            Mask mask = nm == null ? null : Mask.fromFloats(l.maskShape(), l.mask());
            if (mask != null && NmMagnitudePruner.satisfiesNm(mask, nm.n(), nm.m())) {
                l.freeze(nm);
            } else if (mask != null && NmMagnitudePruner.satisfiesNm(mask, nm.n(), nm.m(), NmGroupOrder.CHANNEL)) {
                l.freeze(nm, NmGroupOrder.CHANNEL);
            } else {
                l.freeze(null);
            }
        }
    }

    /** Unfreezes every sparse layer (the masks stay). */
    public void unfreeze() {
        for (SparseLayer l : layers.values()) {
            l.unfreeze();
        }
    }

    /** True when the network has sparse layers and all of them are frozen. */
    public boolean isFrozen() {
        return !layers.isEmpty() && layers.values().stream().allMatch(SparseLayer::isFrozen);
    }

    /** Names of the layers that compute on compressed N:M kernels. */
    public List<String> compressedLayers() {
        List<String> out = new ArrayList<>();
        layers.values().stream().filter(l -> l.frozenFormat() != null).forEach(l -> out.add(l.layerName()));
        return out;
    }

    /** The checksum of {@link #masks()} in hex; equal on every worker that holds the same masks. */
    public String maskChecksum() {
        return MaskChecksum.hex(MaskChecksum.of(masks()));
    }

    /** Adds a {@link MaskEnforcingListener} to the network unless it has one. */
    public MaskedNetwork withMaskEnforcement() {
        Collection<TrainingListener> current = model instanceof ComputationGraph g ? g.getListeners()
                : ((MultiLayerNetwork) model).getListeners();
        if (current == null || current.stream().noneMatch(MaskEnforcingListener.class::isInstance)) {
            model.addListeners(new MaskEnforcingListener());
        }
        return this;
    }

    private SparseLayer layer(String name) {
        SparseLayer l = layers.get(name);
        if (l == null) {
            throw new IllegalArgumentException("no sparse layer named " + name + "; sparse layers: " + layers.keySet());
        }
        return l;
    }

    @Override
    public String toString() {
        return "MaskedNetwork{layers=" + layers.keySet() + ", frozen=" + isFrozen() + ", compressed=" + compressedLayers() + "}";
    }
}
