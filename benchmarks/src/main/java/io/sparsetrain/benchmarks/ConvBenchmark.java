package io.sparsetrain.benchmarks;

import io.sparsetrain.kernels.Conv2dKernels;
import io.sparsetrain.kernels.Conv2dShape;
import io.sparsetrain.kernels.KernelProvider;
import io.sparsetrain.kernels.KernelThreads;
import io.sparsetrain.kernels.NmMatrix;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The engine's conv2d (im2col + kernels), dense and 2:4, forward and backward (input and weight
 * gradients), on 3x3 / stride 1 / padding 1 convolutions C -> C at batch 32 (training and batched inference) or
 * batch 1 ({@code -p batch=1}: single-image inference, where the products have 49-784 columns).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 2, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx6g"})
@Warmup(iterations = 2, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
public class ConvBenchmark {

    /** channels x size. */
    @Param({"16x28", "32x14", "64x7", "64x56"})
    public String conv;

    @Param({"1", "2"})
    public int threads;

    /** The batch size JMH runs when not told otherwise; RatioReport reads each result's own. */
    static final int BATCH = 32;

    @Param({"32"})
    public int batch;

    private KernelThreads pool;
    private Conv2dKernels kernels;
    private Conv2dKernels im2col;
    private Conv2dShape shape;
    private float[] input;
    private float[] weight;
    private float[] dOut;
    private NmMatrix weight24;

    @Setup(Level.Trial)
    public void setup() {
        int[] c = Shapes.conv(conv);
        shape = Conv2dShape.of(batch, c[0], c[1], c[1], c[0], 3, 1, 1);
        pool = new KernelThreads(threads);
        kernels = new Conv2dKernels(KernelProvider.vector(pool), pool);
        im2col = kernels.withoutDirect();
        input = Shapes.random(1, shape.inputSize());
        weight = Shapes.random(2, shape.weightSize());
        dOut = Shapes.random(3, shape.outputSize());
        weight24 = NmMatrix.fromDense(weight, Shapes.magnitudeMask(weight, shape.outChannels(), shape.k(), 2, 4),
                shape.outChannels(), shape.k(), 2, 4);
        weight24.layout().rowGather(64);
        weight24.layout().colGather(64);
        weight24.layout().groupedLayout();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
    }

    @Benchmark
    public float[] denseForward() {
        return kernels.forward(shape, input, weight);
    }

    @Benchmark
    public float[] nm24Forward() {
        return kernels.forward(shape, input, weight24);
    }

    /** The dense forward through im2col (the route before the direct convolution). */
    @Benchmark
    public float[] im2colDenseForward() {
        return im2col.forward(shape, input, weight);
    }

    /** The 2:4 forward through im2col. */
    @Benchmark
    public float[] im2colNm24Forward() {
        return im2col.forward(shape, input, weight24);
    }

    @Benchmark
    public float[] denseBackwardInput() {
        return kernels.backwardInput(shape, dOut, weight);
    }

    @Benchmark
    public float[] nm24BackwardInput() {
        return kernels.backwardInput(shape, dOut, weight24);
    }

    /** The dense input gradient through col2im (the route before the direct convolution). */
    @Benchmark
    public float[] im2colDenseBackwardInput() {
        return im2col.backwardInput(shape, dOut, weight);
    }

    @Benchmark
    public float[] denseBackwardWeight() {
        return kernels.backwardWeight(shape, input, dOut);
    }

    /** The 2:4 weight gradient at the kept positions (routed: the grouped kernels on padded images up to 256 channels). */
    @Benchmark
    public float[] nm24BackwardWeight() {
        return kernels.backwardWeight(shape, input, dOut, weight24);
    }

    @Benchmark
    public void denseBackward(Blackhole bh) {
        bh.consume(kernels.backwardInput(shape, dOut, weight));
        bh.consume(kernels.backwardWeight(shape, input, dOut));
    }

    /** Both dense gradients through im2col / col2im. */
    @Benchmark
    public void im2colDenseBackward(Blackhole bh) {
        bh.consume(im2col.backwardInput(shape, dOut, weight));
        bh.consume(im2col.backwardWeight(shape, input, dOut));
    }

    @Benchmark
    public void nm24Backward(Blackhole bh) {
        bh.consume(kernels.backwardInput(shape, dOut, weight24));
        bh.consume(kernels.backwardWeight(shape, input, dOut, weight24));
    }
}
