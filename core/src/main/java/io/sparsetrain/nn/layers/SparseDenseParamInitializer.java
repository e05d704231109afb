package io.sparsetrain.nn.layers;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import io.sparsetrain.prune.LayerShape;

/**
 * Parameters of a {@link SparseDense}: "W" [nIn, nOut] in 'f' order (as DL4J's DenseLayer), "b"
 * [1, nOut] if the layer has a bias, and the mask "M" shaped like W, initialised to ones.
 */
public final class SparseDenseParamInitializer implements ParamInitializer {

    public static final String WEIGHT_KEY = "W";
    public static final String BIAS_KEY = "b";
    public static final SparseDenseParamInitializer INSTANCE = new SparseDenseParamInitializer();

    private SparseDenseParamInitializer() {
    }

    private static SparseDense conf(Layer l) {
        return (SparseDense) l;
    }

    static LayerShape shape(SparseDense c) {
        return LayerShape.dense((int) c.getNOut(), (int) c.getNIn());
    }

    @Override
    public long numParams(NeuralNetConfiguration conf) {
        return numParams(conf.getLayer());
    }

    @Override
    public long numParams(Layer layer) {
        SparseDense c = conf(layer);
        return 2 * c.getNIn() * c.getNOut() + (c.hasBias() ? c.getNOut() : 0) + SparseParams.extraCount(c, shape(c));
    }

    @Override
    public List<String> paramKeys(Layer layer) {
        List<String> keys = new ArrayList<>(3);
        keys.add(WEIGHT_KEY);
        if (conf(layer).hasBias()) {
            keys.add(BIAS_KEY);
        }
        keys.add(SparseLayerConfig.MASK_KEY);
        String extra = SparseParams.extraKey(conf(layer));
        if (extra != null) {
            keys.add(extra);
        }
        return keys;
    }

    @Override
    public List<String> weightKeys(Layer layer) {
        return Collections.singletonList(WEIGHT_KEY);
    }

    @Override
    public List<String> biasKeys(Layer layer) {
        return conf(layer).hasBias() ? Collections.singletonList(BIAS_KEY) : Collections.emptyList();
    }

    @Override
    public boolean isWeightParam(Layer layer, String key) {
        return WEIGHT_KEY.equals(key);
    }

    @Override
    public boolean isBiasParam(Layer layer, String key) {
        return BIAS_KEY.equals(key);
    }

    @Override
    public Map<String, INDArray> init(NeuralNetConfiguration conf, INDArray paramsView, boolean initializeParams) {
        SparseDense c = conf(conf.getLayer());
        if (paramsView.length() != numParams(c)) {
            throw new IllegalArgumentException("layer " + c.getLayerName() + ": parameter view has " + paramsView.length()
                    + " entries, expected " + numParams(c));
        }
        Map<String, INDArray> views = split(c, paramsView);
        if (initializeParams) {
            INDArray w = views.get(WEIGHT_KEY);
            c.getWeightInitFn().init(c.getNIn(), c.getNOut(), w.shape(), 'f', w);
            if (c.hasBias()) {
                views.get(BIAS_KEY).assign(c.getBiasInit());
            }
            views.get(SparseLayerConfig.MASK_KEY).assign(1.0);
            MaskLearningInit.init(c, shape(c), views.get(WEIGHT_KEY), 'f', views);
        }
        return views;
    }

    @Override
    public Map<String, INDArray> getGradientsFromFlattened(NeuralNetConfiguration conf, INDArray gradientView) {
        return split(conf(conf.getLayer()), gradientView);
    }

    private static Map<String, INDArray> split(SparseDense c, INDArray view) {
        INDArray flat = view.reshape(view.length());
        long nw = c.getNIn() * c.getNOut();
        Map<String, INDArray> out = new LinkedHashMap<>();
        out.put(WEIGHT_KEY, flat.get(NDArrayIndex.interval(0, nw)).reshape('f', c.getNIn(), c.getNOut()));
        long pos = nw;
        if (c.hasBias()) {
            out.put(BIAS_KEY, flat.get(NDArrayIndex.interval(pos, pos + c.getNOut())).reshape(1, c.getNOut()));
            pos += c.getNOut();
        }
        out.put(SparseLayerConfig.MASK_KEY, flat.get(NDArrayIndex.interval(pos, pos + nw)).reshape('f', c.getNIn(), c.getNOut()));
        String extra = SparseParams.extraKey(c);
        if (extra != null) {
            long ne = SparseParams.extraCount(c, shape(c));
            out.put(extra, flat.get(NDArrayIndex.interval(pos + nw, pos + nw + ne)).reshape(1, ne));
        }
        return out;
    }
}
