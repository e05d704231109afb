package io.sparsetrain.benchmarks;

import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * ND4J's dense baselines on the same [rows x K x cols] products: {@code INDArray.mmul} and
 * {@code Nd4j.gemm} into a preallocated result (OpenBLAS inside ND4J; the core type comes from the
 * OPENBLAS_CORETYPE environment variable, recorded by run-kernels.sh).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 2, jvmArgsAppend = {"-Xmx4g"})
@Warmup(iterations = 2, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
public class Nd4jGemmBenchmark {

    @Param({"64x576x3136", "128x1152x784", "256x2304x196", "512x4608x49", "1024x1024x1024"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private INDArray w;
    private INDArray x;
    private INDArray y;

    @Setup(Level.Trial)
    public void setup() {
        Nd4jSupport.threads(threads);
        int[] s = Shapes.gemm(shape);
        Nd4j.getRandom().setSeed(1);
        w = Nd4j.rand(DataType.FLOAT, s[0], s[1]);
        x = Nd4j.rand(DataType.FLOAT, s[1], s[2]);
        y = Nd4j.create(DataType.FLOAT, new long[] {s[0], s[2]}, 'f');
    }

    @Benchmark
    public INDArray nd4jMmul() {
        return w.mmul(x);
    }

    @Benchmark
    public INDArray nd4jGemm() {
        return Nd4j.gemm(w, x, y, false, false, 1.0, 0.0);
    }
}
