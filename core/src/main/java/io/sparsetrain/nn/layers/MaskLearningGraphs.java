package io.sparsetrain.nn.layers;

import io.sparsetrain.prune.MaskSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;

/**
 * Sets up a trained network of sparse layers for mask learning, and reads the learned parameters and masks back.
 *
 * <p>{@link #prepare} returns a new graph (the input is unchanged) in which the selected sparse layers learn
 * their masks ({@link MaskLearning}) and everything else is frozen: every other parameter has a NoOp updater and
 * no regularization, dropout and weight noise are removed, and {@link FastBatchNormalization} layers normalise
 * with their running statistics in training passes and never update them ({@code frozenStatistics}), so the
 * mask is fitted to the normalisation the deployed model uses (or, optionally, with each minibatch's statistics, for
 * models whose statistics are re-estimated after masking); a {@link FrozenParametersListener} zeroes the
 * gradients of all frozen parameters, so that even DL4J's own fit changes nothing but the learned ones. DL4J's own BatchNormalization is refused (its
 * training pass always uses batch statistics): convert with {@code SparseConversion.toSparse} first. The
 * learned masks ({@link #learnedMasks}) are then applied to a fixed-mask copy of the network with
 * {@code MaskedNetwork.applyMasks}; the learning graph itself is a working copy.
 */
public final class MaskLearningGraphs {

    private MaskLearningGraphs() {
    }

    /**
     * @param graph a network with sparse layers (not modified)
     * @param settings the mode and its settings, not {@link MaskMode#FIXED}
     * @param maskUpdater the updater of the learned parameters when the graph is trained with DL4J's fit
     * @param select which sparse layers (by name) learn their mask; the others keep theirs, frozen
     * @throws IllegalArgumentException if no sparse layer is selected or the graph has a DL4J BatchNormalization
     */
    public static ComputationGraph prepare(ComputationGraph graph, MaskLearning settings, IUpdater maskUpdater,
                                           Predicate<String> select) {
        return prepare(graph, settings, maskUpdater, select, false);
    }

    /**
     * As {@link #prepare(ComputationGraph, MaskLearning, IUpdater, Predicate)}, choosing what batch norm uses in
     * training passes.
     *
     * @param batchStatistics true: {@link FastBatchNormalization} layers normalise with each minibatch's own
     *     statistics in training passes (as in training), so the masks are fitted to the statistics the masked
     *     network produces; the running statistics are left unchanged (decay 1), so they must be re-estimated for
     *     the masked model before use (for example with {@code BnRecalibration}). false: running statistics, frozen
     *     (the default)
     */
    public static ComputationGraph prepare(ComputationGraph graph, MaskLearning settings, IUpdater maskUpdater,
                                           Predicate<String> select, boolean batchStatistics) {
        Objects.requireNonNull(settings, "settings");
        if (settings.getMode() == MaskMode.FIXED) {
            throw new IllegalArgumentException("mask learning needs mode LEARNED_NM or THRESHOLD, got FIXED");
        }
        ComputationGraphConfiguration conf = graph.getConfiguration().clone();
        int selected = 0;
        for (Map.Entry<String, GraphVertex> e : conf.getVertices().entrySet()) {
            if (!(e.getValue() instanceof LayerVertex v)) {
                continue;
            }
            org.deeplearning4j.nn.conf.layers.Layer l = v.getLayerConf().getLayer();
            if (l.getClass() == BatchNormalization.class) {
                throw new IllegalArgumentException("layer " + e.getKey() + " is a DL4J BatchNormalization, whose training pass "
                        + "always uses batch statistics; convert the network with SparseConversion.toSparse first");
            }
            l.setIDropout(null);
            if (l instanceof BaseLayer b) {
                b.setWeightNoise(null);
                b.setRegularization(new ArrayList<>());
                b.setRegularizationBias(new ArrayList<>());
                b.setBiasUpdater(null);
                b.setIUpdater(new NoOp());
            }
            if (l instanceof FastBatchNormalization bn) {
                bn.setFrozenStatistics(!batchStatistics);
                if (batchStatistics) {
                    // normalise by the minibatch but keep the running statistics as they are: inference passes of
                    // the learning graph (dense reference outputs, progress) still see the trained model's
                    bn.setMinibatch(true);
                    bn.setDecay(1.0);
                }
            }
            if (l instanceof SparseLayerConfig s) {
                s.setFrozen(false, null);
                if (select.test(e.getKey())) {
                    s.setMaskLearning(settings);
                    ((BaseLayer) l).setIUpdater(maskUpdater.clone());
                    selected++;
                }
            }
        }
        if (selected == 0) {
            throw new IllegalArgumentException("no sparse layer selected for mask learning; sparse layers: "
                    + sparseLayerNames(graph));
        }
        ComputationGraph out = new ComputationGraph(conf);
        out.init();
        out.setListeners(new FrozenParametersListener());
        for (Layer target : out.getLayers()) {
            String name = target.conf().getLayer().getLayerName();
            Map<String, INDArray> src = graph.getLayer(name).paramTable();
            for (Map.Entry<String, INDArray> p : target.paramTable().entrySet()) {
                INDArray v = src.get(p.getKey());
                if (v == null) {
                    continue; // the learned parameter: initialised by the layer
                }
                if (!Arrays.equals(v.shape(), p.getValue().shape())) {
                    throw new IllegalStateException("layer " + name + " parameter " + p.getKey() + ": shape "
                            + Arrays.toString(v.shape()) + " vs " + Arrays.toString(p.getValue().shape()));
                }
                p.getValue().assign(v);
            }
        }
        return out;
    }

    private static List<String> sparseLayerNames(ComputationGraph g) {
        List<String> names = new ArrayList<>();
        for (Layer l : g.getLayers()) {
            if (l instanceof SparseLayer s) {
                names.add(s.layerName());
            }
        }
        return names;
    }

    /** The layers that learn their mask, in the graph's layer order. */
    public static List<MaskLearningLayer> learningLayers(ComputationGraph g) {
        List<MaskLearningLayer> out = new ArrayList<>();
        for (Layer l : g.getLayers()) {
            if (l instanceof MaskLearningLayer m && m.maskMode() != MaskMode.FIXED) {
                out.add(m);
            }
        }
        return out;
    }

    /** The inference mask of every learning layer ({@link MaskLearningLayer#learnedMask()}), by layer name. */
    public static MaskSet learnedMasks(ComputationGraph g) {
        MaskSet.Builder b = MaskSet.builder();
        for (MaskLearningLayer l : learningLayers(g)) {
            b.put(l.layerName(), l.learnedMask());
        }
        return b.build();
    }

    /** All learned parameters of the learning layers, concatenated in layer order. */
    public static float[] learnedVector(ComputationGraph g) {
        List<float[]> parts = new ArrayList<>();
        int n = 0;
        for (MaskLearningLayer l : learningLayers(g)) {
            float[] p = l.learnedParams();
            parts.add(p);
            n += p.length;
        }
        float[] out = new float[n];
        int pos = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, pos, p.length);
            pos += p.length;
        }
        return out;
    }

    /** Sets the learned parameters from a vector laid out as {@link #learnedVector}. */
    public static void setLearnedVector(ComputationGraph g, float[] v) {
        int pos = 0;
        List<MaskLearningLayer> layers = learningLayers(g);
        int total = 0;
        for (MaskLearningLayer l : layers) {
            total += l.learnedParams().length;
        }
        if (v.length != total) {
            throw new IllegalArgumentException("the network's learned parameters have " + total + " entries, got " + v.length);
        }
        for (MaskLearningLayer l : layers) {
            int len = l.learnedParams().length;
            l.setLearnedParams(Arrays.copyOfRange(v, pos, pos + len));
            pos += len;
        }
    }

    /** The learned parameters' gradients of the last backward pass, laid out as {@link #learnedVector}. */
    public static float[] learnedGradientVector(ComputationGraph g) {
        List<float[]> parts = new ArrayList<>();
        int n = 0;
        for (MaskLearningLayer l : learningLayers(g)) {
            float[] p = l.learnedGradient();
            parts.add(p);
            n += p.length;
        }
        float[] out = new float[n];
        int pos = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, pos, p.length);
            pos += p.length;
        }
        return out;
    }
}
