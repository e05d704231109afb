package io.sparsetrain.learn;

import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.PrunableLayer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Deterministic weights and layer lists for the learned-sparsity tests. */
public final class LearnTestData {
    private LearnTestData() {
    }

    public static double gaussian(SplittableRandom r) {
        double u = 1.0 - r.nextDouble();
        double v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    public static float[] gaussianArray(int n, double scale, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[n];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (gaussian(r) * scale);
        }
        return w;
    }

    public static PrunableLayer layer(String name, LayerShape shape, double scale, long seed) {
        return new PrunableLayer(name, shape, gaussianArray(shape.size(), scale, seed));
    }

    /**
     * The ResNet-20 layer list of the issue: [16,1,3,3], [16,16,3,3] x 6, [32,16,3,3], [32,32,3,3] x 5,
     * [64,32,3,3], [64,64,3,3] x 5, 1x1 downsample [32,16,1,1], [64,32,1,1], dense [64,10] stored [in, out];
     * Gaussian weights whose scale differs per layer by up to two orders of magnitude.
     */
    public static List<PrunableLayer> resnet20(long seed) {
        List<LayerShape> shapes = new ArrayList<>();
        shapes.add(LayerShape.conv(16, 1, 3, 3));
        for (int i = 0; i < 6; i++) {
            shapes.add(LayerShape.conv(16, 16, 3, 3));
        }
        shapes.add(LayerShape.conv(32, 16, 3, 3));
        for (int i = 0; i < 5; i++) {
            shapes.add(LayerShape.conv(32, 32, 3, 3));
        }
        shapes.add(LayerShape.conv(64, 32, 3, 3));
        for (int i = 0; i < 5; i++) {
            shapes.add(LayerShape.conv(64, 64, 3, 3));
        }
        shapes.add(LayerShape.conv(32, 16, 1, 1));
        shapes.add(LayerShape.conv(64, 32, 1, 1));
        shapes.add(LayerShape.denseInOut(64, 10));
        SplittableRandom r = new SplittableRandom(seed);
        List<PrunableLayer> layers = new ArrayList<>();
        for (int l = 0; l < shapes.size(); l++) {
            double scale = Math.pow(10, -2 + 2 * r.nextDouble());
            layers.add(layer("layer" + l, shapes.get(l), scale, r.nextLong()));
        }
        return layers;
    }
}
