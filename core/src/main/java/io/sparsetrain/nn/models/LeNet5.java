package io.sparsetrain.nn.models;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.activations.Activation;

/**
 * LeNet-5 (LeCun et al. 1998) with ReLU and max pooling, as a DL4J computation graph: conv 5x5x6,
 * pool 2, conv 5x5x16, pool 2, dense 120, dense 84, softmax classifier. For inputs smaller than
 * 32x32 (e.g. 28x28 MNIST) the first conv pads by 2, as is usual; the second conv pads by 2 when its
 * input is smaller than 10x10. Vertex names: conv1, pool1, conv2, pool2, fc1, fc2, output.
 */
public final class LeNet5 {

    private LeNet5() {
    }

    public static ComputationGraph build(ImageShape input, int numClasses) {
        return ResNets.init(configuration(ModelSpec.of(input, numClasses)));
    }

    public static ComputationGraphConfiguration configuration(ModelSpec spec) {
        ImageShape in = spec.input();
        int side = Math.min(in.height(), in.width());
        int pad1 = side < 32 ? 2 : 0;
        int afterPool1 = (side + 2 * pad1 - 4) / 2;
        int pad2 = afterPool1 < 10 ? 2 : 0;
        if (side + 2 * pad1 < 6 || afterPool1 + 2 * pad2 < 6) {
            throw new IllegalArgumentException("LeNet-5 needs inputs of at least 6x6 after padding, got " + in);
        }
        GraphLayers g = new GraphLayers(spec);
        String x = g.conv("conv1", GraphLayers.INPUT, 6, 5, 1, pad1, Activation.RELU);
        x = g.maxPool("pool1", x, 2, 2, 0);
        x = g.conv("conv2", x, 16, 5, 1, pad2, Activation.RELU);
        x = g.maxPool("pool2", x, 2, 2, 0);
        x = g.dense("fc1", x, 120, Activation.RELU);
        x = g.dense("fc2", x, 84, Activation.RELU);
        g.output("output", x);
        return g.build();
    }
}
