package io.sparsetrain.benchmarks.nn;

import io.sparsetrain.kernels.KernelProvider;
import io.sparsetrain.kernels.KernelThreads;
import io.sparsetrain.nn.models.ImageShape;
import io.sparsetrain.nn.models.LeNet5;
import io.sparsetrain.nn.models.ModelSpec;
import io.sparsetrain.nn.models.ResNets;
import io.sparsetrain.nn.strbn.StrBnOptions;
import io.sparsetrain.nn.strbn.StrBnResult;
import io.sparsetrain.nn.strbn.StrBnSparsifier;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Adam;

/**
 * Inference speed of an STR-BN smaller model against the model it was cut from (METHODS.md section 4:
 * "report the real speedup of the smaller model"): images/s at batch 1 and 32, both models measured in
 * alternating rounds in one run so that background load hits both alike, with the filters removed and the
 * parameter / multiply-add counts.
 *
 * <p>Without {@code --original/--smaller} it makes its own pair: trains the model on the first
 * {@code --train} Fashion-MNIST images for {@code --pretrain-epochs} (Adam 2e-3), then runs STR-BN for
 * {@code --epochs} with the given sparsity settings (defaults: the strong settings of the core tests), and
 * optionally saves both ({@code --save DIR}). Not a JMH benchmark and not a test: run it on a quiet machine.
 *
 * <p>Usage: {@code StrBnSpeedBenchmark [--model resnet20|lenet5] [--train 2048] [--pretrain-epochs 1]
 * [--epochs 1] [--lr 0.05] [--initial-s -2] [--threshold-decay 0.5] [--gamma-decay 0.1] [--seconds 10]
 * [--rounds 5] [--data /usr/share/datasets/fashion-mnist] [--save DIR] [--original a.zip --smaller b.zip]}
 */
public final class StrBnSpeedBenchmark {

    public static void main(String[] args) throws Exception {
        String model = "resnet20";
        int trainN = 2048;
        int pretrainEpochs = 1;
        int epochs = 1;
        double lr = 0.05;
        double initialS = -2;
        double thresholdDecay = 0.5;
        double gammaDecay = 0.1;
        double seconds = 10;
        int rounds = 5;
        Path data = Path.of("/usr/share/datasets/fashion-mnist");
        Path save = null;
        Path originalZip = null;
        Path smallerZip = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = args[++i];
                case "--train" -> trainN = Integer.parseInt(args[++i]);
                case "--pretrain-epochs" -> pretrainEpochs = Integer.parseInt(args[++i]);
                case "--epochs" -> epochs = Integer.parseInt(args[++i]);
                case "--lr" -> lr = Double.parseDouble(args[++i]);
                case "--initial-s" -> initialS = Double.parseDouble(args[++i]);
                case "--threshold-decay" -> thresholdDecay = Double.parseDouble(args[++i]);
                case "--gamma-decay" -> gammaDecay = Double.parseDouble(args[++i]);
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--data" -> data = Path.of(args[++i]);
                case "--save" -> save = Path.of(args[++i]);
                case "--original" -> originalZip = Path.of(args[++i]);
                case "--smaller" -> smallerZip = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + "; see the class comment for usage");
            }
        }
        if ((originalZip == null) != (smallerZip == null)) {
            throw new IllegalArgumentException("give both --original and --smaller, or neither");
        }
        System.out.printf(Locale.ROOT, "# StrBnSpeedBenchmark %s%n", LocalDateTime.now());
        System.out.printf(Locale.ROOT, "# kernels=%s vectorized=%s kernel threads=%d, cores=%d, OMP_NUM_THREADS=%s, java %s%n",
                KernelProvider.get().name(), KernelProvider.isVectorized(), KernelThreads.shared().threads(),
                Runtime.getRuntime().availableProcessors(), System.getenv("OMP_NUM_THREADS"), System.getProperty("java.version"));
        System.out.println("# load average at start (1/5/15 min): " + loadAverage());
        DataSet test = load(data, "t10k", 64);
        ComputationGraph original;
        ComputationGraph smaller;
        if (originalZip != null) {
            original = ModelSerializer.restoreComputationGraph(originalZip.toFile(), false);
            smaller = ModelSerializer.restoreComputationGraph(smallerZip.toFile(), false);
            System.out.println("# models: " + originalZip + " vs " + smallerZip);
        } else {
            DataSet train = load(data, "train", trainN);
            ModelSpec spec = ModelSpec.builder().input(ImageShape.of(1, 28, 28)).numClasses(10).updater(new Adam(2e-3)).build();
            original = switch (model) {
                case "resnet20" -> ResNets.init(ResNets.cifar(20, spec));
                case "lenet5" -> ResNets.init(LeNet5.configuration(spec));
                default -> throw new IllegalArgumentException("--model must be resnet20 or lenet5, got " + model);
            };
            long t0 = System.nanoTime();
            original.fit(new ListDataSetIterator<>(train.asList(), 32), pretrainEpochs);
            System.out.printf(Locale.ROOT, "# %s trained %d epochs on %d images in %.1f s%n", model, pretrainEpochs, trainN, (System.nanoTime() - t0) / 1e9);
            StrBnOptions opts = StrBnOptions.builder().epochs(epochs).learningRate(lr).initialS(initialS).thresholdDecay(thresholdDecay)
                    .gammaDecay(gammaDecay).weightDecay(5e-4).build();
            t0 = System.nanoTime();
            StrBnResult r = StrBnSparsifier.run(original, new ListDataSetIterator<>(train.asList(), 32), opts, p -> {
                if (p.step() % 20 == 0) {
                    System.out.printf(Locale.ROOT, "#   step %d loss %.4f dead %d%n", p.step(), p.loss(), p.deadTotal());
                }
            });
            System.out.printf(Locale.ROOT, "# STR-BN %s in %.1f s%n", opts, (System.nanoTime() - t0) / 1e9);
            System.out.print(r.summary().replaceAll("(?m)^", "# "));
            smaller = r.smaller();
            System.out.printf(Locale.ROOT, "# test accuracy on %d images: original %.3f, smaller %.3f; max |output difference| smaller vs STR-BN model %.2e%n",
                    test.numExamples(), accuracy(original, test), accuracy(smaller, test),
                    r.smaller().outputSingle(false, test.getFeatures()).sub(r.softThresholded().outputSingle(false, test.getFeatures()))
                            .amaxNumber().doubleValue());
            if (save != null) {
                Files.createDirectories(save);
                ModelSerializer.writeModel(original, save.resolve("original.zip").toFile(), false);
                ModelSerializer.writeModel(smaller, save.resolve("smaller.zip").toFile(), false);
                System.out.println("# saved original.zip and smaller.zip in " + save);
            }
        }
        System.out.printf(Locale.ROOT, "%-6s %14s %14s %8s%n", "batch", "original img/s", "smaller img/s", "speedup");
        for (int batch : new int[] {1, 32}) {
            INDArray x = test.getFeatures().get(NDArrayIndex.interval(0, batch)).dup();
            measure(original, x, 2.0);
            measure(smaller, x, 2.0);
            long imagesA = 0;
            long imagesB = 0;
            double timeA = 0;
            double timeB = 0;
            for (int round = 0; round < rounds; round++) {
                double[] a = measure(original, x, seconds / rounds / 2);
                double[] b = measure(smaller, x, seconds / rounds / 2);
                imagesA += (long) a[0];
                timeA += a[1];
                imagesB += (long) b[0];
                timeB += b[1];
            }
            double ra = imagesA / timeA;
            double rb = imagesB / timeB;
            System.out.printf(Locale.ROOT, "%-6d %14.1f %14.1f %7.2fx%n", batch, ra, rb, rb / ra);
        }
        System.out.println("# load average at end: " + loadAverage());
    }

    /** Runs inference for about {@code seconds}; returns {images, seconds}. */
    private static double[] measure(ComputationGraph g, INDArray x, double seconds) {
        long start = System.nanoTime();
        long deadline = start + (long) (seconds * 1e9);
        long images = 0;
        do {
            g.outputSingle(false, x);
            images += x.size(0);
        } while (System.nanoTime() < deadline);
        return new double[] {images, (System.nanoTime() - start) / 1e9};
    }

    private static double accuracy(ComputationGraph g, DataSet d) {
        INDArray p = g.outputSingle(false, d.getFeatures()).argMax(1);
        INDArray y = d.getLabels().argMax(1);
        return p.eq(y).castTo(org.nd4j.linalg.api.buffer.DataType.INT).sumNumber().doubleValue() / d.numExamples();
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** The first {@code n} images of an IDX split, scaled to [0, 1], with one-hot labels. */
    private static DataSet load(Path dir, String split, int n) throws IOException {
        try (DataInputStream im = new DataInputStream(new java.io.BufferedInputStream(new GZIPInputStream(
                Files.newInputStream(dir.resolve(split + "-images-idx3-ubyte.gz")))));
             DataInputStream lb = new DataInputStream(new java.io.BufferedInputStream(new GZIPInputStream(
                     Files.newInputStream(dir.resolve(split + "-labels-idx1-ubyte.gz")))))) {
            if (im.readInt() != 2051 || lb.readInt() != 2049) {
                throw new IOException("not IDX image/label files in " + dir + " (" + split + ")");
            }
            int count = im.readInt();
            int rows = im.readInt();
            int cols = im.readInt();
            lb.readInt();
            if (n > count) {
                throw new IllegalArgumentException("asked for " + n + " of " + count + " images in " + dir + " (" + split + ")");
            }
            float[] x = new float[n * rows * cols];
            float[] y = new float[n * 10];
            byte[] buf = new byte[rows * cols];
            for (int i = 0; i < n; i++) {
                im.readFully(buf);
                for (int j = 0; j < buf.length; j++) {
                    x[i * buf.length + j] = (buf[j] & 0xff) / 255f;
                }
                y[i * 10 + lb.readUnsignedByte()] = 1f;
            }
            return new DataSet(Nd4j.create(x, new long[] {n, 1, rows, cols}, 'c'), Nd4j.create(y, new long[] {n, 10}, 'c'));
        }
    }
}
