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
 * Parameters of a {@link SparseConvolution}, laid out in the layer's flat view as "b" [nOut] (if
 * the layer has a bias), "W" [nOut, nIn, kh, kw] in C order (as DL4J's convolution) and the mask "M"
 * of the same shape, initialised to ones.
 */
public final class SparseConvolutionParamInitializer implements ParamInitializer {

    public static final String WEIGHT_KEY = "W";
    public static final String BIAS_KEY = "b";
    public static final SparseConvolutionParamInitializer INSTANCE = new SparseConvolutionParamInitializer();

    private SparseConvolutionParamInitializer() {
    }

    private static SparseConvolution conf(Layer l) {
        return (SparseConvolution) l;
    }

    static long weightCount(SparseConvolution c) {
        int[] k = c.getKernelSize();
        return c.getNIn() * c.getNOut() * k[0] * k[1];
    }

    static LayerShape shape(SparseConvolution c) {
        int[] k = c.getKernelSize();
        return LayerShape.conv((int) c.getNOut(), (int) c.getNIn(), k[0], k[1]);
    }

    @Override
    public long numParams(NeuralNetConfiguration conf) {
        return numParams(conf.getLayer());
    }

    @Override
    public long numParams(Layer layer) {
        SparseConvolution c = conf(layer);
        return (c.hasBias() ? c.getNOut() : 0) + 2 * weightCount(c) + SparseParams.extraCount(c, shape(c));
    }

    @Override
    public List<String> paramKeys(Layer layer) {
        List<String> keys = new ArrayList<>(3);
        if (conf(layer).hasBias()) {
            keys.add(BIAS_KEY);
        }
        keys.add(WEIGHT_KEY);
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
        SparseConvolution c = conf(conf.getLayer());
        if (paramsView.length() != numParams(c)) {
            throw new IllegalArgumentException("layer " + c.getLayerName() + ": parameter view has " + paramsView.length()
                    + " entries, expected " + numParams(c));
        }
        Map<String, INDArray> views = split(c, paramsView);
        if (initializeParams) {
            int[] k = c.getKernelSize();
            int[] s = c.getStride();
            double fanIn = c.getNIn() * k[0] * k[1];
            double fanOut = c.getNOut() * k[0] * k[1] / ((double) s[0] * s[1]);
            INDArray w = views.get(WEIGHT_KEY);
            c.getWeightInitFn().init(fanIn, fanOut, w.shape(), 'c', w);
            if (c.hasBias()) {
                views.get(BIAS_KEY).assign(c.getBiasInit());
            }
            views.get(SparseLayerConfig.MASK_KEY).assign(1.0);
            MaskLearningInit.init(c, shape(c), views.get(WEIGHT_KEY), 'c', views);
        }
        return views;
    }

    @Override
    public Map<String, INDArray> getGradientsFromFlattened(NeuralNetConfiguration conf, INDArray gradientView) {
        return split(conf(conf.getLayer()), gradientView);
    }

    private static Map<String, INDArray> split(SparseConvolution c, INDArray view) {
        INDArray flat = view.reshape(view.length());
        int[] k = c.getKernelSize();
        long[] wShape = {c.getNOut(), c.getNIn(), k[0], k[1]};
        long nw = weightCount(c);
        long pos = 0;
        Map<String, INDArray> out = new LinkedHashMap<>();
        if (c.hasBias()) {
            out.put(BIAS_KEY, flat.get(NDArrayIndex.interval(0, c.getNOut())).reshape(1, c.getNOut()));
            pos = c.getNOut();
        }
        out.put(WEIGHT_KEY, flat.get(NDArrayIndex.interval(pos, pos + nw)).reshape('c', wShape));
        out.put(SparseLayerConfig.MASK_KEY, flat.get(NDArrayIndex.interval(pos + nw, pos + 2 * nw)).reshape('c', wShape));
        String extra = SparseParams.extraKey(c);
        if (extra != null) {
            long ne = SparseParams.extraCount(c, shape(c));
            out.put(extra, flat.get(NDArrayIndex.interval(pos + 2 * nw, pos + 2 * nw + ne)).reshape(1, ne));
        }
        return out;
    }
}
