package io.sparsetrain.nn.layers;

import io.sparsetrain.learn.nm.GumbelNmMask;
import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.PrunableLayer;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Initial values of the mask-learning parameters when a network is initialised. */
final class MaskLearningInit {

    private MaskLearningInit() {
    }

    /**
     * "A": Glorot-uniform logits (the paper's initialisation; {@link MaskLearningLayer#initLogits} re-initialises
     * them, e.g. from the magnitudes of trained weights). "T": 0, which keeps every non-zero weight.
     */
    static void init(SparseLayerConfig c, LayerShape shape, INDArray w, char order, Map<String, INDArray> views) {
        switch (c.maskMode()) {
            case LEARNED_NM: {
                MaskLearning ml = c.getMaskLearning();
                GumbelNmMask g = GumbelNmMask.create(new PrunableLayer("init", shape, NdFloats.read(w, order)),
                        GumbelNmMask.builder().nm(ml.getN(), ml.getM()).init(GumbelNmMask.Init.GLOROT)
                                .seed(ml.getNoiseSeed()).groupOrder(ml.getGroupOrder()).build());
                NdFloats.write(g.logits(), views.get(SparseLayerConfig.LOGITS_KEY), 'c');
                break;
            }
            case THRESHOLD:
                views.get(SparseLayerConfig.THRESHOLD_KEY).assign(0);
                break;
            default:
                break;
        }
    }
}
