package io.sparsetrain.prune;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Deterministic layers for the pruning tests. */
public final class TestLayers {
    private TestLayers() {
    }

    /** Gaussian weights (seeded), with a per-layer scale so layers differ in magnitude. */
    public static PrunableLayer random(String name, LayerShape shape, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double scale = 0.5 + r.nextDouble();
        float[] w = new float[shape.size()];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (gaussian(r) * scale);
        }
        return new PrunableLayer(name, shape, w);
    }

    private static double gaussian(SplittableRandom r) {
        double u = 1.0 - r.nextDouble();
        double v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    /**
     * A ResNet-20 for 1-channel 28x28 input: stem conv, three stages of three basic blocks (two 3x3
     * convs each), 1x1 downsample convs at stages 2 and 3, and a dense [nIn=64, nOut=10] classifier
     * stored as DL4J's [in, out].
     */
    public static List<PrunableLayer> resnet20() {
        List<PrunableLayer> layers = new ArrayList<>();
        long seed = 1;
        layers.add(random("conv1", LayerShape.conv(16, 1, 3, 3), seed++));
        int in = 16;
        int[] widths = {16, 32, 64};
        for (int stage = 0; stage < 3; stage++) {
            int out = widths[stage];
            for (int block = 0; block < 3; block++) {
                String p = "s" + (stage + 1) + "b" + (block + 1);
                layers.add(random(p + "_conv1", LayerShape.conv(out, in, 3, 3), seed++));
                layers.add(random(p + "_conv2", LayerShape.conv(out, out, 3, 3), seed++));
                if (in != out) {
                    layers.add(random(p + "_down", LayerShape.conv(out, in, 1, 1), seed++));
                }
                in = out;
            }
        }
        layers.add(random("fc", LayerShape.denseInOut(64, 10), seed));
        return layers;
    }

    /** The ResNet-20 without its 1x1 downsample convolutions (only whole-kernel units under CK). */
    public static List<PrunableLayer> resnet20WithoutPointwise() {
        List<PrunableLayer> out = new ArrayList<>();
        for (PrunableLayer l : resnet20()) {
            if (!l.name().endsWith("_down")) {
                out.add(l);
            }
        }
        return out;
    }
}
