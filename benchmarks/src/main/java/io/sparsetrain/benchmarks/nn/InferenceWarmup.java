package io.sparsetrain.benchmarks.nn;

import io.sparsetrain.nn.models.LayerKind;
import java.util.Locale;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * How fast one ResNet-20 (1x28x28, 10 classes) inference mode gets up to speed in a fresh JVM: images/s in
 * consecutive intervals from the first call on, for our layers dense or on frozen 2:4 masks (every sparse layer
 * but the stem). Run it once per mode, each in its own JVM, so that no other mode has compiled the shared code
 * first (LayersBenchmark runs every mode in one JVM and cannot show this). What it catches: a kernel the JIT
 * leaves in slow code (the Vector API runs its Java fallback, ~100x slower, outside C2-compiled code) shows as
 * a flat line far below the other mode's. Usage: {@code InferenceWarmup dense|2:4 [--batch 1] [--interval 5]
 * [--seconds 60]}.
 */
public final class InferenceWarmup {

    private InferenceWarmup() {
    }

    public static void main(String[] args) {
        if (args.length < 1 || !(args[0].equals("dense") || args[0].equals("2:4"))) {
            throw new IllegalArgumentException("usage: InferenceWarmup dense|2:4 [--batch 1] [--interval 5] [--seconds 60]");
        }
        boolean twoFour = args[0].equals("2:4");
        int batch = 1;
        double interval = 5;
        double seconds = 60;
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--interval" -> interval = Double.parseDouble(args[++i]);
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + "; usage: InferenceWarmup dense|2:4 [--batch 1] [--interval 5] [--seconds 60]");
            }
        }
        ComputationGraph g = LayersBenchmark.model(LayerKind.SPARSE, twoFour);
        Nd4j.getRandom().setSeed(2);
        INDArray x = Nd4j.rand(DataType.FLOAT, batch, LayersBenchmark.INPUT.channels(), LayersBenchmark.INPUT.height(),
                LayersBenchmark.INPUT.width());
        System.out.printf(Locale.ROOT, "# InferenceWarmup %s, batch %d, %.0f s intervals from the first call%n", args[0], batch, interval);
        long start = System.nanoTime();
        while (System.nanoTime() - start < seconds * 1e9) {
            long t0 = System.nanoTime();
            int n = 0;
            while (System.nanoTime() - t0 < interval * 1e9) {
                g.outputSingle(x);
                n++;
            }
            double el = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT, "%s b=%d t=%5.1f s: %7.1f img/s%n", args[0], batch, (System.nanoTime() - start) / 1e9,
                    n * batch / el);
        }
    }
}
