package io.sparsetrain.nn.strbn;

import io.sparsetrain.nn.MaskEnforcingListener;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.learning.config.IUpdater;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * STR-BN structured pruning of a trained graph (METHODS.md section 4): convert its batch norms to STR-BN
 * ({@link StrBnConversion}), train weights and thresholds for a few epochs ({@link StrBnOptions}), then
 * remove the dead filters physically ({@link StrBnRemoval}), optionally fine-tune the smaller graph without sparsity
 * pressure ({@link StrBnOptions#fineTuneEpochs()}). The trained graph is not modified.
 */
public final class StrBnSparsifier {

    private static final Logger LOG = LoggerFactory.getLogger(StrBnSparsifier.class);

    private StrBnSparsifier() {
    }

    /**
     * Runs STR-BN on {@code trained}.
     *
     * @param trained a trained graph with one NCHW image input and one output layer
     * @param train labelled training minibatches (reset before every epoch; its first batch calibrates
     *     inserted batch norms and checks the conversion)
     * @param listener called after every step
     * @throws IllegalArgumentException naming the vertex when the graph has a vertex removal does not support,
     *     or when the data is not NCHW images
     */
    public static StrBnResult run(ComputationGraph trained, DataSetIterator train, StrBnOptions opts, StrBnProgressListener listener) {
        Objects.requireNonNull(trained, "trained");
        Objects.requireNonNull(train, "train");
        Objects.requireNonNull(opts, "opts");
        Objects.requireNonNull(listener, "listener");
        ChannelFlow.of(trained); // fail on unsupported vertices before any work
        if (!train.resetSupported()) {
            throw new IllegalArgumentException("the training iterator must support reset() (STR-BN runs several epochs)");
        }
        train.reset();
        if (!train.hasNext()) {
            throw new IllegalArgumentException("the training iterator is empty");
        }
        DataSet first = train.next();
        INDArray x = first.getFeatures();
        if (x.rank() != 4) {
            throw new IllegalArgumentException("STR-BN needs NCHW image minibatches, got features of shape "
                    + java.util.Arrays.toString(x.shape()));
        }
        InputType input = InputType.convolutional(x.size(2), x.size(3), x.size(1));
        int batch = (int) x.size(0);
        long stepsPerEpoch = countSteps(train, opts.maxStepsPerEpoch());
        long total = stepsPerEpoch * opts.epochs();
        LOG.info("STR-BN: {}, batch {}, {} steps per epoch, {} steps, base learning rate {}", opts, batch, stepsPerEpoch, total,
                opts.learningRate(batch));

        StrBnConversion.Converted conv = StrBnConversion.convert(trained, opts.threshold(), opts.thresholdDecay(), opts.gammaDecay(), x,
                opts.updater(opts.learningRate(batch), total), opts.weightDecay());
        ComputationGraph g = conv.graph();
        Progress progress = new Progress(listener);
        BooleanSupplier stop = () -> false;
        if (opts.stopAtRemoved() > 0) {
            int filters = StrBnRemoval.remove(g, trained).layers().stream().mapToInt(LayerRemoval::before).sum();
            stop = () -> {
                if (progress.step % StrBnOptions.STOP_CHECK_STEPS != 0) {
                    return false;
                }
                int gone = StrBnRemoval.remove(g, trained).layers().stream().mapToInt(LayerRemoval::removed).sum();
                return gone >= opts.stopAtRemoved() * filters;
            };
        }
        UnaryOperator<DataSet> targets = targets(trained, opts.distillWeight());
        trainEpochs(g, train, targets, opts.epochs(), opts.maxStepsPerEpoch(), progress, stop);
        if (progress.step < stepsPerEpoch * opts.epochs()) {
            LOG.info("STR-BN: stopped after {} of {} steps, the removal budget ({} of the filters) reached", progress.step,
                    stepsPerEpoch * opts.epochs(), opts.stopAtRemoved());
        }
        StrBnRemoval.Removed removed = StrBnRemoval.remove(g, trained);
        ModelCost before = ModelCost.of(trained, input);
        ModelCost after = ModelCost.of(removed.graph(), input);
        long strBnSteps = progress.step;
        double strBnLoss = progress.lastLoss;
        ComputationGraph fineTuned = null;
        if (opts.fineTuneEpochs() > 0) {
            fineTuned = fineTune(removed.graph(), opts, batch, stepsPerEpoch);
            progress.fixedLayers = layerStates(g); // the dead set is final: report it during the fine-tune
            progress.epochOffset = opts.epochs();
            trainEpochs(fineTuned, train, targets, opts.fineTuneEpochs(), opts.maxStepsPerEpoch(), progress, () -> false);
        }
        StrBnResult r = new StrBnResult(removed.graph(), g, removed.layers(), before, after, conv.inserted(), removed.notes(),
                strBnSteps, strBnLoss, fineTuned, progress.step - strBnSteps, fineTuned == null ? Double.NaN : progress.lastLoss);
        LOG.info("STR-BN done:\n{}", r.summary());
        return r;
    }

    /**
     * The minibatch each step fits: {@code ds} itself, or with {@link StrBnOptions#distillWeight()} > 0 its labels
     * mixed with the trained graph's probabilities on its features (inference mode: batch norms on their running
     * statistics).
     */
    static UnaryOperator<DataSet> targets(ComputationGraph trained, double distillWeight) {
        if (distillWeight == 0) {
            return UnaryOperator.identity();
        }
        return ds -> {
            INDArray p = trained.outputSingle(false, ds.getFeatures());
            INDArray y = distillWeight == 1 ? p : ds.getLabels().castTo(p.dataType()).mul(1 - distillWeight).addi(p.muli(distillWeight));
            return new DataSet(ds.getFeatures(), y, ds.getFeaturesMaskArray(), ds.getLabelsMaskArray());
        };
    }

    private static void trainEpochs(ComputationGraph g, DataSetIterator train, UnaryOperator<DataSet> targets, int epochs,
                                    long maxStepsPerEpoch, Progress progress, BooleanSupplier stop) {
        g.setListeners(new MaskEnforcingListener(), progress);
        epochs:
        for (int epoch = 0; epoch < epochs; epoch++) {
            train.reset();
            long steps = 0;
            while (train.hasNext() && (maxStepsPerEpoch == 0 || steps < maxStepsPerEpoch)) {
                g.fit(targets.apply(train.next()));
                steps++;
                if (stop.getAsBoolean()) {
                    break epochs;
                }
            }
            g.incrementEpochCount();
        }
        g.setListeners(new ArrayList<>());
    }

    /**
     * A trainable copy of the smaller graph: the same parameters, every layer on {@code opts}' optimizer with a
     * fresh learning-rate decay over the fine-tune from {@link StrBnOptions#fineTuneLearningRate(int)} and {@link StrBnOptions#weightDecay()} as its only regularization.
     */
    static ComputationGraph fineTune(ComputationGraph smaller, StrBnOptions opts, int batch, long stepsPerEpoch) {
        ComputationGraphConfiguration conf = smaller.getConfiguration().clone();
        IUpdater updater = opts.updater(opts.fineTuneLearningRate(batch), stepsPerEpoch * opts.fineTuneEpochs());
        for (GraphVertex v : conf.getVertices().values()) {
            if (v instanceof LayerVertex lv && lv.getLayerConf().getLayer() instanceof BaseLayer bl) {
                StrBnConversion.training(bl, updater, opts.weightDecay());
            }
        }
        conf.setIterationCount(0);
        conf.setEpochCount(0);
        ComputationGraph out = new ComputationGraph(conf);
        out.init(smaller.params().dup(), false);
        return out;
    }

    private static long countSteps(DataSetIterator it, long max) {
        it.reset();
        long n = 0;
        while (it.hasNext() && (max == 0 || n < max)) {
            it.next();
            n++;
        }
        return n;
    }

    /** The per-layer state of every STR-BN layer of {@code g}, in topological order. */
    public static List<StrBnProgress.Layer> layerStates(ComputationGraph g) {
        List<StrBnProgress.Layer> out = new ArrayList<>();
        for (int i : g.topologicalSortOrder()) {
            org.deeplearning4j.nn.graph.vertex.GraphVertex v = g.getVertices()[i];
            if (v.hasLayer() && v.getLayer() instanceof StrBatchNormalizationLayer l) {
                boolean[] d = l.deadChannels();
                int dead = 0;
                for (boolean b : d) {
                    dead += b ? 1 : 0;
                }
                out.add(new StrBnProgress.Layer(v.getVertexName(), d.length, dead, l.thresholdValue()));
            }
        }
        return out;
    }

    private static final class Progress extends BaseTrainingListener {
        private final StrBnProgressListener listener;
        private long step;
        private double lastLoss = Double.NaN;
        private List<StrBnProgress.Layer> fixedLayers;
        private int epochOffset;

        Progress(StrBnProgressListener listener) {
            this.listener = listener;
        }

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            step++;
            ComputationGraph g = (ComputationGraph) model;
            double reg = g.calcRegularizationScore(true);
            lastLoss = g.score() - reg;
            listener.onStep(new StrBnProgress(step, epochOffset + epoch, lastLoss, reg,
                    fixedLayers != null ? fixedLayers : layerStates(g)));
        }
    }
}
