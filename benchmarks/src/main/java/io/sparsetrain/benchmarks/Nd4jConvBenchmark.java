package io.sparsetrain.benchmarks;

import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
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
 * ND4J's native {@code conv2d} op on the convolutions behind the GEMM shapes (3x3, stride 1,
 * padding 1, batch 1): 64x576x3136 = 64->64 at 56x56, 128x1152x784 = 128->128 at 28x28,
 * 256x2304x196 = 256->256 at 14x14, 512x4608x49 = 512->512 at 7x7.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 2, jvmArgsAppend = {"-Xmx4g"})
@Warmup(iterations = 2, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
public class Nd4jConvBenchmark {

    @Param({"64x576x3136", "128x1152x784", "256x2304x196", "512x4608x49"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private INDArray input;
    private INDArray weight;
    private INDArray output;
    private Conv2DConfig config;

    @Setup(Level.Trial)
    public void setup() {
        Nd4jSupport.threads(threads);
        int[] s = Shapes.gemm(shape);
        int c = s[0];
        int hw = (int) Math.round(Math.sqrt(s[2]));
        Nd4j.getRandom().setSeed(1);
        input = Nd4j.rand(DataType.FLOAT, 1, c, hw, hw);
        weight = Nd4j.rand(DataType.FLOAT, 3, 3, c, c); // ND4J's default weight layout [kH, kW, Cin, Cout]
        output = Nd4j.create(DataType.FLOAT, 1, c, hw, hw);
        config = Conv2DConfig.builder().kH(3).kW(3).sH(1).sW(1).pH(1).pW(1).dH(1).dW(1)
                .dataFormat(Conv2DConfig.NCHW).build();
    }

    @Benchmark
    public INDArray nd4jConv2d() {
        Nd4j.exec(new Conv2D(new INDArray[] {input, weight}, new INDArray[] {output}, config));
        return output;
    }
}
