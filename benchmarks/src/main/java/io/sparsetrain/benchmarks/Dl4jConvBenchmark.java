package io.sparsetrain.benchmarks;

import java.util.Collections;
import java.util.concurrent.TimeUnit;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.Activation;
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
 * DL4J's ConvolutionLayer (1.0.0-M2: im2col + OpenBLAS gemm inside ND4J) on the same
 * convolutions as {@link ConvBenchmark}: forward ({@code activate}) and backward
 * ({@code backpropGradient}: input and weight gradients).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 2, jvmArgsAppend = {"-Xmx6g"})
@Warmup(iterations = 1, time = 1000, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 2, time = 1000, timeUnit = TimeUnit.MILLISECONDS)
public class Dl4jConvBenchmark {

    @Param({"16x28", "32x14", "64x7", "64x56"})
    public String conv;

    @Param({"1", "2"})
    public int threads;

    @Param({"32"})
    public int batch;

    private Layer layer;
    private INDArray input;
    private INDArray epsilon;
    private final LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();

    @Setup(Level.Trial)
    public void setup() {
        Nd4jSupport.threads(threads);
        int[] c = Shapes.conv(conv);
        ConvolutionLayer conf = new ConvolutionLayer.Builder(3, 3).nIn(c[0]).nOut(c[0]).stride(1, 1)
                .padding(1, 1).activation(Activation.IDENTITY).build();
        NeuralNetConfiguration nnc = new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT).layer(conf).build();
        long numParams = conf.initializer().numParams(nnc);
        INDArray params = Nd4j.rand(DataType.FLOAT, 1, numParams);
        layer = conf.instantiate(nnc, Collections.emptyList(), 0, params, true, DataType.FLOAT);
        layer.setBackpropGradientsViewArray(Nd4j.create(DataType.FLOAT, 1, numParams));
        Nd4j.getRandom().setSeed(1);
        input = Nd4j.rand(DataType.FLOAT, batch, c[0], c[1], c[1]);
        epsilon = Nd4j.rand(DataType.FLOAT, batch, c[0], c[1], c[1]);
        layer.setInput(input, mgr);
        layer.activate(true, mgr);
    }

    @Benchmark
    public INDArray dl4jForward() {
        layer.setInput(input, mgr);
        return layer.activate(true, mgr);
    }

    @Benchmark
    public Pair<Gradient, INDArray> dl4jBackward() {
        layer.setInput(input, mgr);
        return layer.backpropGradient(epsilon, mgr);
    }
}
