package io.sparsetrain.nn.layers;

import io.sparsetrain.kernels.NmFormat;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Mask checks and state changes shared by the sparse layer instances. */
final class SparseMasks {

    private SparseMasks() {
    }

    static void setMask(SparseLayer layer, SparseLayerConfig conf, float[] mask, INDArray param, char order) {
        MaskedWeights.checkMask(layer.layerName(), mask, (int) param.length());
        if (conf.isFrozen() && !Arrays.equals(mask, layer.mask())) {
            throw new IllegalStateException("layer " + layer.layerName() + ": the mask is frozen; unfreeze() before changing it");
        }
        NmFormat nm = conf.frozenFormat();
        if (nm != null) {
            MaskedWeights.checkNm(layer.layerName(), mask, layer.maskShape().outputs(), layer.maskShape().k(), nm);
        }
        NdFloats.write(mask, param, order);
    }

    static void freeze(SparseLayer layer, SparseLayerConfig conf, NmFormat nm) {
        if (nm != null) {
            MaskedWeights.checkNm(layer.layerName(), layer.mask(), layer.maskShape().outputs(), layer.maskShape().k(), nm);
        }
        layer.enforceMask();
        conf.setFrozen(true, nm);
    }
}
