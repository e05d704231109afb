package io.sparsetrain.nn.layers;

import io.sparsetrain.kernels.NmFormat;
import io.sparsetrain.prune.nm.NmGroupOrder;
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
            MaskedWeights.checkNm(layer.layerName(), mask, layer.maskShape().outputs(), layer.maskShape().k(), nm,
                    conf.frozenGroupOrder().originalKs(layer.maskShape()));
        }
        NdFloats.write(mask, param, order);
    }

    static void freeze(SparseLayer layer, SparseLayerConfig conf, NmFormat nm, NmGroupOrder order) {
        if (nm != null) {
            MaskedWeights.checkNm(layer.layerName(), layer.mask(), layer.maskShape().outputs(), layer.maskShape().k(), nm,
                    order.originalKs(layer.maskShape()));
        }
        layer.enforceMask();
        // dense layers and 1x1 convolutions: channel-wise groups are the stored ones
        conf.setFrozen(true, nm, order.permutes(layer.maskShape()) ? order : NmGroupOrder.KERNEL);
    }
}
