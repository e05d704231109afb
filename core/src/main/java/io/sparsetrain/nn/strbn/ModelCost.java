package io.sparsetrain.nn.strbn;

import java.util.Map;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import io.sparsetrain.nn.layers.SparseDense;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Size and compute of a graph for one input image.
 *
 * @param parameters learnable parameters: weights, biases, batch-norm gamma and beta (not sparse masks,
 *     running statistics or STR-BN thresholds); pruned weights count
 * @param multiplyAdds dense multiply-adds of the convolutions (output H * W * Cout * Cin * kh * kw) and of
 *     the dense and output layers (nIn * nOut), per image; batch norm, activations, pooling and additions
 *     are not counted
 */
public record ModelCost(long parameters, long multiplyAdds) {

    /** 2 * multiply-adds. */
    public long flops() {
        return 2 * multiplyAdds;
    }

    /** The cost of {@code graph} for images of {@code input} (e.g. {@code InputType.convolutional(28, 28, 1)}). */
    public static ModelCost of(ComputationGraph graph, InputType input) {
        long params = 0;
        for (org.deeplearning4j.nn.api.Layer l : graph.getLayers()) {
            for (Map.Entry<String, INDArray> e : l.paramTable().entrySet()) {
                switch (e.getKey()) {
                    case "M", "mean", "var", "log10stdev", StrBatchNormalization.THRESHOLD -> {
                    }
                    default -> params += e.getValue().length();
                }
            }
        }
        ComputationGraphConfiguration conf = graph.getConfiguration().clone();
        Map<String, InputType> types = conf.getLayerActivationTypes(input);
        long macs = 0;
        for (Map.Entry<String, GraphVertex> e : conf.getVertices().entrySet()) {
            if (!(e.getValue() instanceof LayerVertex lv)) {
                continue;
            }
            Layer l = lv.getLayerConf().getLayer();
            if (l instanceof ConvolutionLayer c) {
                InputType.InputTypeConvolutional out = (InputType.InputTypeConvolutional) types.get(e.getKey());
                long[] k = {c.getKernelSize()[0], c.getKernelSize()[1]};
                macs += out.getHeight() * out.getWidth() * c.getNOut() * c.getNIn() * k[0] * k[1];
            } else if (l instanceof DenseLayer || l instanceof SparseDense || l instanceof BaseOutputLayer) {
                FeedForwardLayer f = (FeedForwardLayer) l;
                macs += f.getNIn() * f.getNOut();
            }
        }
        return new ModelCost(params, macs);
    }

    @Override
    public String toString() {
        return "ModelCost{parameters=" + parameters + ", multiplyAdds=" + multiplyAdds + "}";
    }
}
