package io.sparsetrain.benchmarks;

import io.sparsetrain.kernels.GemmKernels;
import io.sparsetrain.kernels.KernelProvider;
import io.sparsetrain.kernels.KernelThreads;
import io.sparsetrain.kernels.NmMatrix;
import io.sparsetrain.kernels.vector.VectorGemm;
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

/**
 * Our kernels on ResNet conv-shaped products [rows x K x cols]: dense, 2:4 and 1:4 forward, and
 * the input and weight gradients (2:4 weight gradient also by the former dense-then-gather
 * route, the sampled and the pattern-grouped kernels; 1:4 also pattern-grouped), on 1 and 2
 * kernel threads. {@link RatioReport} turns the JSON
 * result into dense-equivalent GFLOP/s (2 * rows * K * cols per product) and ratios.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 2, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
@Warmup(iterations = 2, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
public class GemmBenchmark {

    @Param({"64x576x3136", "128x1152x784", "256x2304x196", "512x4608x49", "1024x1024x1024"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private KernelThreads pool;
    private GemmKernels kernels;
    private int rows;
    private int k;
    private int cols;
    private float[] w;
    private float[] x;
    private float[] y;
    private float[] dy;
    private float[] dx;
    private float[] dw;
    private float[] dwSlots;
    private float[] dwSlots14;
    private NmMatrix w24;
    private NmMatrix w14;

    @Setup(Level.Trial)
    public void setup() {
        int[] s = Shapes.gemm(shape);
        rows = s[0];
        k = s[1];
        cols = s[2];
        pool = new KernelThreads(threads);
        kernels = KernelProvider.vector(pool);
        w = Shapes.random(1, rows * k);
        x = Shapes.random(2, k * cols);
        dy = Shapes.random(3, rows * cols);
        y = new float[rows * cols];
        dx = new float[k * cols];
        dw = new float[rows * k];
        w24 = NmMatrix.fromDense(w, Shapes.magnitudeMask(w, rows, k, 2, 4), rows, k, 2, 4);
        w14 = NmMatrix.fromDense(w, Shapes.magnitudeMask(w, rows, k, 1, 4), rows, k, 1, 4);
        dwSlots = new float[w24.slots()];
        dwSlots14 = new float[w14.slots()];
        w24.layout().rowGather(64); // build the kernel layouts outside the measurement (once per mask)
        w24.layout().colGather(64);
        w14.layout().rowGather(64);
        w14.layout().colGather(64);
        w14.layout();
        kernels.nmBackwardWeight(w24, dy, x, cols, dwSlots); // and the weight-gradient layouts
        kernels.nmBackwardWeight(w14, dy, x, cols, dwSlots14);
        w24.layout().groupedLayout(); // the pattern-grouped kernel's row partition
        w14.layout().groupedLayout();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
    }

    @Benchmark
    public float[] denseForward() {
        kernels.gemm(w, x, y, rows, k, cols);
        return y;
    }

    @Benchmark
    public float[] nm24Forward() {
        kernels.nmForward(w24, x, y, cols);
        return y;
    }

    @Benchmark
    public float[] nm14Forward() {
        kernels.nmForward(w14, x, y, cols);
        return y;
    }

    @Benchmark
    public float[] denseBackwardInput() {
        kernels.gemmTransA(w, dy, dx, k, rows, cols);
        return dx;
    }

    @Benchmark
    public float[] nm24BackwardInput() {
        kernels.nmBackwardInput(w24, dy, dx, cols);
        return dx;
    }

    @Benchmark
    public float[] denseBackwardWeight() {
        kernels.gemmTransB(dy, x, dw, rows, cols, k);
        return dw;
    }

    @Benchmark
    public float[] nm24BackwardWeight() {
        kernels.nmBackwardWeight(w24, dy, x, cols, dwSlots);
        return dwSlots;
    }

    /** The former route (dense dY * X^T, then a gather of the kept entries), for comparison. */
    @Benchmark
    public float[] nm24BackwardWeightViaDense() {
        ((VectorGemm) kernels).nmBackwardWeightViaDense(w24, dy, x, cols, dwSlots);
        return dwSlots;
    }

    /** The sampled kernel whatever the column count (nm24BackwardWeight routes narrow products to the dense route). */
    @Benchmark
    public float[] nm24BackwardWeightSampled() {
        ((VectorGemm) kernels).nmBackwardWeightSampled(w24, dy, x, cols, dwSlots);
        return dwSlots;
    }

    /** The pattern-grouped kernel (rows sharing a kept pattern computed as a dense register block; not routed yet). */
    @Benchmark
    public float[] nm24BackwardWeightGrouped() {
        ((VectorGemm) kernels).nmBackwardWeightGrouped(w24, dy, x, cols, dwSlots);
        return dwSlots;
    }

    @Benchmark
    public float[] nm14BackwardWeight() {
        kernels.nmBackwardWeight(w14, dy, x, cols, dwSlots14);
        return dwSlots14;
    }

    @Benchmark
    public float[] nm14BackwardWeightGrouped() {
        ((VectorGemm) kernels).nmBackwardWeightGrouped(w14, dy, x, cols, dwSlots14);
        return dwSlots14;
    }
}
