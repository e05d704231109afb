package io.sparsetrain.nn.models;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;

/**
 * Residual networks (He et al. 2016, "Deep Residual Learning for Image Recognition") as DL4J
 * computation graphs on sparse layers, for any input shape and class count.
 *
 * <ul>
 *   <li>CIFAR style, depth 6n+2 (ResNet-20/32/56): a 3x3 stem conv with 16 channels, three stages of n
 *       basic blocks with 16, 32 and 64 channels (stride 2 at the start of stages 2 and 3), BN + ReLU,
 *       identity shortcuts and a 1x1 conv + BN projection where the shape changes (option B),
 *       global average pooling and a softmax classifier.</li>
 *   <li>ImageNet style (ResNet-18/34 basic blocks, ResNet-50 bottleneck blocks with expansion 4): a
 *       7x7/2 stem conv and 3x3/2 max pool, or for small inputs ({@link ModelSpec#smallInputStem()}) a
 *       3x3/1 stem conv without pooling; stages of 64, 128, 256, 512 channels.</li>
 * </ul>
 * Vertex names: {@code stem}, {@code s<stage>b<block>_conv1|conv2|conv3|proj} (convolutions),
 * {@code ..._bn*}, {@code ..._add}, {@code ..._out}, {@code pool}, {@code output}. The stem conv and
 * the classifier are the layers the pruning controller excludes by default; the classifier is a stock
 * DL4J OutputLayer. With {@link LayerKind#SPARSE} the batch norms are {@code FastBatchNormalization}
 * (unless {@link ModelSpec#fastBatchNorm()} is off), with {@link LayerKind#STOCK} DL4J's.
 */
public final class ResNets {

    private ResNets() {
    }

    public static ComputationGraph resnet20(ImageShape input, int numClasses) {
        return init(cifar(20, ModelSpec.of(input, numClasses)));
    }

    public static ComputationGraph resnet32(ImageShape input, int numClasses) {
        return init(cifar(32, ModelSpec.of(input, numClasses)));
    }

    public static ComputationGraph resnet56(ImageShape input, int numClasses) {
        return init(cifar(56, ModelSpec.of(input, numClasses)));
    }

    public static ComputationGraph resnet18(ImageShape input, int numClasses) {
        return init(imagenet(18, ModelSpec.of(input, numClasses)));
    }

    public static ComputationGraph resnet50(ImageShape input, int numClasses) {
        return init(imagenet(50, ModelSpec.of(input, numClasses)));
    }

    /** An initialised graph for a configuration. */
    public static ComputationGraph init(ComputationGraphConfiguration conf) {
        ComputationGraph g = new ComputationGraph(conf);
        g.init();
        return g;
    }

    /** CIFAR-style ResNet of depth 6n+2 (20, 32, 44, 56, 110, ...); {@code width} = 16 channels in stage 1. */
    public static ComputationGraphConfiguration cifar(int depth, ModelSpec spec) {
        return cifar(depth, 16, spec);
    }

    /** As {@link #cifar(int, ModelSpec)} with another stage-1 width (tests use narrow networks). */
    public static ComputationGraphConfiguration cifar(int depth, int width, ModelSpec spec) {
        if (depth < 8 || (depth - 2) % 6 != 0) {
            throw new IllegalArgumentException("CIFAR ResNet depth must be 6n+2 with n >= 1 (20, 32, 56, ...), got depth=" + depth);
        }
        if (width < 1) {
            throw new IllegalArgumentException("width must be >= 1, got width=" + width);
        }
        int n = (depth - 2) / 6;
        GraphLayers g = new GraphLayers(spec);
        String x = g.relu("stem_relu", g.batchNorm("stem_bn", g.conv("stem", GraphLayers.INPUT, width, 3, 1, 1)));
        int channels = width;
        for (int stage = 0; stage < 3; stage++) {
            int out = width << stage;
            for (int block = 0; block < n; block++) {
                int stride = stage > 0 && block == 0 ? 2 : 1;
                x = basicBlock(g, "s" + (stage + 1) + "b" + (block + 1), x, channels, out, stride);
                channels = out;
            }
        }
        g.output("output", g.globalAvgPool("pool", x));
        return g.build();
    }

    /** ImageNet-style ResNet: 18 or 34 (basic blocks), 50, 101 or 152 (bottleneck blocks). */
    public static ComputationGraphConfiguration imagenet(int depth, ModelSpec spec) {
        int[] blocks;
        boolean bottleneck;
        switch (depth) {
            case 18 -> { blocks = new int[] {2, 2, 2, 2}; bottleneck = false; }
            case 34 -> { blocks = new int[] {3, 4, 6, 3}; bottleneck = false; }
            case 50 -> { blocks = new int[] {3, 4, 6, 3}; bottleneck = true; }
            case 101 -> { blocks = new int[] {3, 4, 23, 3}; bottleneck = true; }
            case 152 -> { blocks = new int[] {3, 8, 36, 3}; bottleneck = true; }
            default -> throw new IllegalArgumentException("ImageNet ResNet depth must be 18, 34, 50, 101 or 152, got depth=" + depth);
        }
        GraphLayers g = new GraphLayers(spec);
        String x;
        if (spec.smallInputStem()) {
            x = g.relu("stem_relu", g.batchNorm("stem_bn", g.conv("stem", GraphLayers.INPUT, 64, 3, 1, 1)));
        } else {
            x = g.relu("stem_relu", g.batchNorm("stem_bn", g.conv("stem", GraphLayers.INPUT, 64, 7, 2, 3)));
            x = g.maxPool("stem_pool", x, 3, 2, 1);
        }
        int channels = 64;
        for (int stage = 0; stage < 4; stage++) {
            int width = 64 << stage;
            for (int block = 0; block < blocks[stage]; block++) {
                int stride = stage > 0 && block == 0 ? 2 : 1;
                String name = "s" + (stage + 1) + "b" + (block + 1);
                if (bottleneck) {
                    x = bottleneckBlock(g, name, x, channels, width, stride);
                    channels = 4 * width;
                } else {
                    x = basicBlock(g, name, x, channels, width, stride);
                    channels = width;
                }
            }
        }
        g.output("output", g.globalAvgPool("pool", x));
        return g.build();
    }

    private static String basicBlock(GraphLayers g, String name, String in, int inChannels, int out, int stride) {
        String y = g.relu(name + "_relu1", g.batchNorm(name + "_bn1", g.conv(name + "_conv1", in, out, 3, stride, 1)));
        y = g.batchNorm(name + "_bn2", g.conv(name + "_conv2", y, out, 3, 1, 1));
        String shortcut = shortcut(g, name, in, inChannels, out, stride);
        return g.relu(name + "_out", g.add(name + "_add", y, shortcut));
    }

    private static String bottleneckBlock(GraphLayers g, String name, String in, int inChannels, int width, int stride) {
        int out = 4 * width;
        String y = g.relu(name + "_relu1", g.batchNorm(name + "_bn1", g.conv(name + "_conv1", in, width, 1, 1, 0)));
        y = g.relu(name + "_relu2", g.batchNorm(name + "_bn2", g.conv(name + "_conv2", y, width, 3, stride, 1)));
        y = g.batchNorm(name + "_bn3", g.conv(name + "_conv3", y, out, 1, 1, 0));
        String shortcut = shortcut(g, name, in, inChannels, out, stride);
        return g.relu(name + "_out", g.add(name + "_add", y, shortcut));
    }

    /** Identity, or a 1x1 conv + BN projection when the shape changes (option B). */
    private static String shortcut(GraphLayers g, String name, String in, int inChannels, int out, int stride) {
        if (stride == 1 && inChannels == out) {
            return in;
        }
        return g.batchNorm(name + "_proj_bn", g.conv(name + "_proj", in, out, 1, stride, 0));
    }
}
