package io.sparsetrain.nn.infer;

import io.sparsetrain.kernels.Conv2dKernels;
import io.sparsetrain.kernels.Conv2dShape;
import io.sparsetrain.kernels.GemmKernels;
import io.sparsetrain.kernels.NmMatrix;
import io.sparsetrain.nn.layers.FastBatchNormalization;
import io.sparsetrain.nn.layers.FastBatchNormalizationLayer;
import io.sparsetrain.nn.layers.FastReluLayer;
import io.sparsetrain.nn.layers.MaskMode;
import io.sparsetrain.nn.layers.NdFloats;
import io.sparsetrain.nn.layers.SparseConvolution;
import io.sparsetrain.nn.layers.SparseConvolutionLayer;
import io.sparsetrain.nn.layers.SparseDenseLayer;
import io.sparsetrain.nn.layers.SparseLayer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.graph.vertex.VertexIndices;
import org.deeplearning4j.nn.graph.vertex.impl.ElementWiseVertex;
import org.deeplearning4j.nn.graph.vertex.impl.LayerVertex;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A trained {@link ComputationGraph} compiled for inference into a list of plain-Java steps on the
 * kernel engine, outside DL4J's graph: batch normalization folded into the preceding convolution
 * (W' = s W, b' = s (b - mean) + beta with s = gamma / sqrt(var + eps), which keeps every pruned
 * weight zero and every N:M group N:M), ReLU fused into the step that feeds it, residual sums,
 * pooling and the classifier on float arrays, no INDArray copies between layers. A convolution
 * with a frozen N:M mask runs on its compressed matrix (kernel-wise or channel-wise groups).
 *
 * <p>Why: at batch 1 a ResNet-20 pass through DL4J's graph spends ~60% outside the convolutions
 * (batch norm, activations, copies between ND4J and Java arrays, graph plumbing; BENCHMARKS.md),
 * which no sparsity can shrink.
 *
 * <p>Supported vertices: the input, our {@link SparseConvolution} (fixed mask) and DL4J's
 * ConvolutionLayer (identity or ReLU activation), our FastBatchNormalization and DL4J's
 * BatchNormalization, FastRelu and DL4J's ActivationLayer with ReLU, our FastAdd and DL4J's
 * ElementWiseVertex Add, max/average SubsamplingLayer, GlobalPoolingLayer (average, max), our
 * SparseDense and DL4J's DenseLayer / OutputLayer (identity, ReLU or softmax; a CNN-to-feed-forward
 * preprocessor flattens as DL4J does). Anything else is refused by name when compiling. The plan
 * copies the parameters: compile again after the network's weights change.
 */
public final class InferencePlan {

    private static final Conv2dKernels CONV = Conv2dKernels.get();
    private static final GemmKernels GEMM = CONV.gemm();

    /** An activation per example: channels x height x width (height = width = 1 for flat features). */
    record Value(float[] data, int batch, int c, int h, int w) {
        int size() {
            return c * h * w;
        }
    }

    /** One step: reads the values of its input slots, returns its output value. */
    private abstract static class Step {
        final String name;
        final int[] inputs;
        int output;
        boolean relu;

        Step(String name, int[] inputs) {
            this.name = name;
            this.inputs = inputs;
        }

        /** The step's output, in an array from {@code out.floats} (which may hold a dead value's numbers). */
        abstract Value run(Value[] in, Buffers out);

        abstract String describe();

        String fused() {
            return relu ? " + relu" : "";
        }
    }

    /**
     * Where the steps' output arrays come from, per calling thread: an array a value no later step reads has given
     * back (the most recently given back first, still in cache), else a new one; always a new one for the plan's
     * output, which goes to the caller. A new array is zeroed on the calling thread before the step fills it (0.06-0.09
     * ms for a ResNet-20 convolution's 1.6 MB output at batch 32), and a reused one saves that only while it is still
     * in cache: ResNet-20 plans at batch 32 ran 1.04-1.08x (2:4) and 1.03-1.05x (dense, p10-p50) faster than with new
     * arrays, side by side in one JVM, where keeping one array per step for the next run (cold by then) gained 1.01x
     * (BENCHMARKS.md, session 16). Every step overwrites its whole output, so what a reused array held does not
     * matter. Holds at most the arrays live at once in one run of one input shape: it is emptied when the input's
     * batch size, channels, height or width change. Per thread, so that one plan may serve several threads at once.
     */
    static final class Buffers {
        private final Map<Integer, ArrayDeque<float[]>> free = new HashMap<>();
        private final int[] shape = {-1, -1, -1, -1};
        private boolean fresh;

        /** An array of {@code size} floats for the current step's output (contents undefined). */
        float[] floats(int size) {
            if (fresh) {
                return new float[size];
            }
            ArrayDeque<float[]> q = free.get(size);
            float[] b = q == null ? null : q.pollLast();
            return b != null ? b : new float[size];
        }

        void giveBack(float[] b) {
            free.computeIfAbsent(b.length, k -> new ArrayDeque<>()).addLast(b);
        }

        /** Starts a run on {@code input}: a new shape empties the pool. */
        void start(Value input) {
            int[] now = {input.batch(), input.c(), input.h(), input.w()};
            if (!Arrays.equals(now, shape)) {
                free.clear();
                System.arraycopy(now, 0, shape, 0, now.length);
            }
        }

        /** Arrays held for reuse (for tests). */
        int held() {
            return free.values().stream().mapToInt(ArrayDeque::size).sum();
        }
    }

    /**
     * System property: {@code false} gives every step a new output array on every run (as before session 16), for
     * comparing the two side by side in one JVM. Read on every run.
     */
    public static final String REUSE_PROPERTY = "sparsetrain.infer.reuseOutputs";

    private final List<Step> steps;
    private final int slots;
    private final int outputSlot;
    private final ThreadLocal<Buffers> buffers = ThreadLocal.withInitial(Buffers::new);
    /** Per step: the slots whose values no later step reads (their arrays go back to {@link Buffers}). */
    private final int[][] lastReads;

    private InferencePlan(List<Step> steps, int slots, int outputSlot) {
        this.steps = steps;
        this.slots = slots;
        this.outputSlot = outputSlot;
        int[] lastRead = new int[slots];
        Arrays.fill(lastRead, -1);
        for (int k = 0; k < steps.size(); k++) {
            lastRead[steps.get(k).output] = k; // a value nobody reads goes back after its own step
            for (int in : steps.get(k).inputs) {
                lastRead[in] = k;
            }
        }
        List<List<Integer>> byStep = new ArrayList<>();
        for (int k = 0; k < steps.size(); k++) {
            byStep.add(new ArrayList<>());
        }
        for (int slot = 1; slot < slots; slot++) { // slot 0 is the caller's input
            if (slot != outputSlot && lastRead[slot] >= 0) {
                byStep.get(lastRead[slot]).add(slot);
            }
        }
        lastReads = new int[steps.size()][];
        for (int k = 0; k < steps.size(); k++) {
            lastReads[k] = byStep.get(k).stream().mapToInt(Integer::intValue).toArray();
        }
    }

    /**
     * Compiles {@code net} (one input, one output).
     *
     * @throws UnsupportedOperationException naming the first vertex the plan cannot run
     */
    public static InferencePlan compile(ComputationGraph net) {
        return new Compiler(net).compile();
    }

    /** The network's output for NCHW input (or [batch, features] for a network without convolutions). */
    public INDArray output(INDArray input) {
        long[] s = input.shape();
        if (s.length != 4 && s.length != 2) {
            throw new IllegalArgumentException("input must be NCHW (rank 4) or [batch, features], got shape " + Arrays.toString(s));
        }
        float[] x = NdFloats.read(input, 'c');
        int batch = (int) s[0];
        Value out = s.length == 4
                ? run(new Value(x, batch, (int) s[1], (int) s[2], (int) s[3]))
                : run(new Value(x, batch, (int) s[1], 1, 1));
        long[] shape = out.h() == 1 && out.w() == 1 ? new long[] {batch, out.c()} : new long[] {batch, out.c(), out.h(), out.w()};
        return Nd4j.create(out.data(), shape, 'c');
    }

    /** The output for {@code batch} examples of {@code c x h x w} floats each (NCHW), as [batch, outputs...] floats. */
    public float[] output(float[] input, int batch, int c, int h, int w) {
        if (input.length != (long) batch * c * h * w) {
            throw new IllegalArgumentException("input has " + input.length + " floats, expected batch * c * h * w = "
                    + (long) batch * c * h * w);
        }
        return run(new Value(input, batch, c, h, w)).data();
    }

    private Value run(Value input) {
        Value[] values = new Value[slots];
        values[0] = input;
        Buffers out = buffers.get();
        boolean reuse = !"false".equalsIgnoreCase(System.getProperty(REUSE_PROPERTY));
        out.start(input);
        for (int k = 0; k < steps.size(); k++) {
            Step s = steps.get(k);
            Value[] in = new Value[s.inputs.length];
            for (int i = 0; i < in.length; i++) {
                in[i] = values[s.inputs[i]];
            }
            out.fresh = !reuse || s.output == outputSlot;
            try {
                values[s.output] = s.run(in, out);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("inference step " + s.name + ": " + e.getMessage(), e);
            }
            for (int slot : lastReads[k]) {
                if (reuse) {
                    out.giveBack(values[slot].data());
                }
                values[slot] = null;
            }
        }
        return values[outputSlot];
    }

    /** Arrays the calling thread's pool holds for the next run (for tests). */
    int heldArrays() {
        return buffers.get().held();
    }

    /** One line per step, e.g. {@code s1b1_conv1: conv 3x3/1 16->16 (2:4 compressed) + bn s1b1_bn1 + relu}. */
    public List<String> describe() {
        List<String> out = new ArrayList<>();
        for (Step s : steps) {
            out.add(s.name + ": " + s.describe());
        }
        return out;
    }

    /** Convolutions that run on a compressed N:M matrix. */
    public int compressedConvolutions() {
        int n = 0;
        for (Step s : steps) {
            if (s instanceof ConvStep c && c.nm != null) {
                n++;
            }
        }
        return n;
    }

    // ------------------------------------------------------------------ steps

    private static final class ConvStep extends Step {
        final int cout;
        final int cin;
        final int[] kernel;
        final int[] stride;
        final int[] padding;
        final int[] dilation;
        final boolean same;
        float[] w; // [Cout, Cin*kh*kw], stored K order
        float[] bias; // null when none
        /** The source layer's compression of (folded) weights; null for layers without a frozen N:M mask. */
        Function<float[], NmMatrix> compress;
        boolean channelMajorK; // the compressed matrix is in the channel-wise K order
        NmMatrix nm; // built at the end of compilation (after folding)
        String foldedBn;

        ConvStep(String name, int[] inputs, int cout, int cin, int[] kernel, int[] stride, int[] padding, int[] dilation,
                 boolean same) {
            super(name, inputs);
            this.cout = cout;
            this.cin = cin;
            this.kernel = kernel;
            this.stride = stride;
            this.padding = padding;
            this.dilation = dilation;
            this.same = same;
        }

        void fold(float[] scale, float[] shift, String bn) {
            int k = w.length / cout;
            float[] b = bias != null ? bias : new float[cout];
            for (int co = 0; co < cout; co++) {
                for (int i = co * k; i < (co + 1) * k; i++) {
                    w[i] *= scale[co];
                }
                b[co] = b[co] * scale[co] + shift[co];
            }
            bias = b;
            foldedBn = bn;
        }

        void finish() {
            nm = compress == null ? null : compress.apply(w);
        }

        @Override
        Value run(Value[] in, Buffers out) {
            Value x = in[0];
            if (x.c() != cin) {
                throw new IllegalArgumentException("input has " + x.c() + " channels, the convolution expects " + cin);
            }
            int padH = padding[0];
            int padW = padding[1];
            if (same) {
                padH = Conv2dShape.samePadding(x.h(), kernel[0], stride[0], dilation[0]);
                padW = Conv2dShape.samePadding(x.w(), kernel[1], stride[1], dilation[1]);
            }
            Conv2dShape s = Conv2dShape.builder().batch(x.batch()).input(cin, x.h(), x.w()).outChannels(cout)
                    .kernel(kernel[0], kernel[1]).stride(stride[0], stride[1]).padding(padH, padW)
                    .dilation(dilation[0], dilation[1]).channelMajorK(nm != null && channelMajorK).build();
            if (same && (s.outHeight() != (x.h() + stride[0] - 1) / stride[0] || s.outWidth() != (x.w() + stride[1] - 1) / stride[1])) {
                throw new IllegalArgumentException("ConvolutionMode.Same needs asymmetric padding for input " + x.h() + "x" + x.w()
                        + " and " + s + "; use Truncate with explicit padding");
            }
            float[] y = out.floats(s.outputSize());
            if (nm != null) {
                CONV.forward(s, x.data(), nm, y);
            } else {
                CONV.forward(s, x.data(), w, y);
            }
            if (bias != null || relu) {
                perChannel(y, y, x.batch(), cout, s.outHeight() * s.outWidth(), null, bias, relu);
            }
            return new Value(y, x.batch(), cout, s.outHeight(), s.outWidth());
        }

        @Override
        String describe() {
            String path = nm != null
                    ? nm.format().n() + ":" + nm.format().m() + " compressed" + (channelMajorK ? ", channel-wise groups" : "")
                    : "dense";
            return String.format(Locale.ROOT, "conv %dx%d/%d %d->%d (%s)%s%s", kernel[0], kernel[1], stride[0], cin, cout,
                    path, foldedBn != null ? " + bn " + foldedBn + " folded" : "", fused());
        }
    }

    /**
     * y[n, c, i] = x[n, c, i] * scale[c] + shift[c] over [batch, channels, hw], then max(0, .) if {@code relu};
     * a null scale is 1, a null shift 0; {@code y} may be {@code x}.
     */
    static void perChannel(float[] x, float[] y, int batch, int channels, int hw, float[] scale, float[] shift, boolean relu) {
        for (int n = 0; n < batch; n++) {
            for (int c = 0; c < channels; c++) {
                int o = (n * channels + c) * hw;
                float a = scale != null ? scale[c] : 1f;
                float b = shift != null ? shift[c] : 0f;
                for (int i = o; i < o + hw; i++) {
                    float v = x[i] * a + b;
                    y[i] = relu ? Math.max(0f, v) : v;
                }
            }
        }
    }

    /** Per-channel y = scale * x + shift (a batch norm that follows no convolution). */
    private static final class AffineStep extends Step {
        final float[] scale;
        final float[] shift;

        AffineStep(String name, int[] inputs, float[] scale, float[] shift) {
            super(name, inputs);
            this.scale = scale;
            this.shift = shift;
        }

        @Override
        Value run(Value[] in, Buffers out) {
            Value x = in[0];
            if (x.c() != scale.length) {
                throw new IllegalArgumentException("input has " + x.c() + " channels, batch norm has " + scale.length);
            }
            float[] y = out.floats(x.data().length);
            perChannel(x.data(), y, x.batch(), x.c(), x.h() * x.w(), scale, shift, relu);
            return new Value(y, x.batch(), x.c(), x.h(), x.w());
        }

        @Override
        String describe() {
            return "batch norm (per-channel affine)" + fused();
        }
    }

    private static final class ReluStep extends Step {
        ReluStep(String name, int[] inputs) {
            super(name, inputs);
            relu = true;
        }

        @Override
        Value run(Value[] in, Buffers out) {
            Value x = in[0];
            float[] y = out.floats(x.data().length);
            perChannel(x.data(), y, 1, 1, y.length, null, null, true);
            return new Value(y, x.batch(), x.c(), x.h(), x.w());
        }

        @Override
        String describe() {
            return "relu";
        }
    }

    private static final class AddStep extends Step {
        AddStep(String name, int[] inputs) {
            super(name, inputs);
        }

        @Override
        Value run(Value[] in, Buffers out) {
            Value a = in[0];
            float[] y = out.floats(a.data().length);
            System.arraycopy(a.data(), 0, y, 0, y.length);
            for (int j = 1; j < in.length; j++) {
                Value b = in[j];
                if (b.data().length != y.length || b.c() != a.c()) {
                    throw new IllegalArgumentException("residual sum of different shapes: " + a.c() + "x" + a.h() + "x" + a.w()
                            + " and " + b.c() + "x" + b.h() + "x" + b.w());
                }
                float[] bd = b.data();
                for (int i = 0; i < y.length; i++) {
                    y[i] += bd[i];
                }
            }
            if (relu) {
                perChannel(y, y, 1, 1, y.length, null, null, true);
            }
            return new Value(y, a.batch(), a.c(), a.h(), a.w());
        }

        @Override
        String describe() {
            return "add of " + inputs.length + fused();
        }
    }

    private static final class PoolStep extends Step {
        final boolean max;
        final int[] kernel;
        final int[] stride;
        final int[] padding;
        final boolean includePad;

        PoolStep(String name, int[] inputs, boolean max, int[] kernel, int[] stride, int[] padding, boolean includePad) {
            super(name, inputs);
            this.max = max;
            this.kernel = kernel;
            this.stride = stride;
            this.padding = padding;
            this.includePad = includePad;
        }

        @Override
        Value run(Value[] in, Buffers out) {
            Value x = in[0];
            int ho = (x.h() + 2 * padding[0] - kernel[0]) / stride[0] + 1;
            int wo = (x.w() + 2 * padding[1] - kernel[1]) / stride[1] + 1;
            float[] y = out.floats(x.batch() * x.c() * ho * wo);
            float[] d = x.data();
            int o = 0;
            for (int plane = 0; plane < x.batch() * x.c(); plane++) {
                int base = plane * x.h() * x.w();
                for (int oh = 0; oh < ho; oh++) {
                    for (int ow = 0; ow < wo; ow++) {
                        float acc = max ? Float.NEGATIVE_INFINITY : 0f;
                        int count = 0;
                        for (int kh = 0; kh < kernel[0]; kh++) {
                            int ih = oh * stride[0] - padding[0] + kh;
                            for (int kw = 0; kw < kernel[1]; kw++) {
                                int iw = ow * stride[1] - padding[1] + kw;
                                if (ih < 0 || ih >= x.h() || iw < 0 || iw >= x.w()) {
                                    continue;
                                }
                                float v = d[base + ih * x.w() + iw];
                                acc = max ? Math.max(acc, v) : acc + v;
                                count++;
                            }
                        }
                        y[o++] = max ? acc : acc / (includePad ? kernel[0] * kernel[1] : Math.max(1, count));
                    }
                }
            }
            return new Value(y, x.batch(), x.c(), ho, wo);
        }

        @Override
        String describe() {
            return (max ? "max" : "avg") + " pool " + kernel[0] + "x" + kernel[1] + "/" + stride[0];
        }
    }

    private static final class GlobalPoolStep extends Step {
        final boolean max;

        GlobalPoolStep(String name, int[] inputs, boolean max) {
            super(name, inputs);
            this.max = max;
        }

        @Override
        Value run(Value[] in, Buffers out) {
            Value x = in[0];
            int hw = x.h() * x.w();
            float[] y = out.floats(x.batch() * x.c());
            float[] d = x.data();
            for (int p = 0; p < y.length; p++) {
                int o = p * hw;
                if (max) {
                    float m = Float.NEGATIVE_INFINITY;
                    for (int i = o; i < o + hw; i++) {
                        m = Math.max(m, d[i]);
                    }
                    y[p] = m;
                } else {
                    double s = 0;
                    for (int i = o; i < o + hw; i++) {
                        s += d[i];
                    }
                    y[p] = (float) (s / hw);
                }
            }
            return new Value(y, x.batch(), x.c(), 1, 1);
        }

        @Override
        String describe() {
            return "global " + (max ? "max" : "avg") + " pool";
        }
    }

    private static final class DenseStep extends Step {
        final int nIn;
        final int nOut;
        final float[] wT; // [nOut, nIn]
        final float[] bias;
        final boolean softmax;

        DenseStep(String name, int[] inputs, int nIn, int nOut, float[] wT, float[] bias, boolean relu, boolean softmax) {
            super(name, inputs);
            this.nIn = nIn;
            this.nOut = nOut;
            this.wT = wT;
            this.bias = bias;
            this.relu = relu;
            this.softmax = softmax;
        }

        @Override
        Value run(Value[] in, Buffers out) {
            Value x = in[0];
            if (x.size() != nIn) {
                throw new IllegalArgumentException("input has " + x.size() + " features per example (" + x.c() + "x" + x.h()
                        + "x" + x.w() + "), the layer expects nIn=" + nIn);
            }
            float[] y = out.floats(x.batch() * nOut);
            GEMM.gemmTransB(x.data(), wT, y, x.batch(), nIn, nOut);
            perChannel(y, y, x.batch(), nOut, 1, null, bias, relu);
            if (softmax) {
                for (int o = 0; o < y.length; o += nOut) {
                    float max = Float.NEGATIVE_INFINITY;
                    for (int j = 0; j < nOut; j++) {
                        max = Math.max(max, y[o + j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < nOut; j++) {
                        double e = Math.exp(y[o + j] - max);
                        y[o + j] = (float) e;
                        sum += e;
                    }
                    for (int j = 0; j < nOut; j++) {
                        y[o + j] = (float) (y[o + j] / sum);
                    }
                }
            }
            return new Value(y, x.batch(), nOut, 1, 1);
        }

        @Override
        String describe() {
            return "dense " + nIn + "->" + nOut + (softmax ? " + softmax" : fused());
        }
    }

    // ------------------------------------------------------------------ compiler

    private static final class Compiler {
        private final ComputationGraph net;
        private final GraphVertex[] vertices;
        /** Slot holding each vertex's value (-1: not yet produced). */
        private final int[] slotOf;
        /** Step that produced each slot. */
        private final List<Step> producerOfSlot = new ArrayList<>();
        private final List<Step> steps = new ArrayList<>();
        private final Set<String> outputs;

        Compiler(ComputationGraph net) {
            this.net = net;
            this.vertices = net.getVertices();
            this.slotOf = new int[vertices.length];
            Arrays.fill(slotOf, -1);
            this.outputs = new HashSet<>(net.getConfiguration().getNetworkOutputs());
        }

        InferencePlan compile() {
            if (net.getNumInputArrays() != 1 || net.getNumOutputArrays() != 1) {
                throw new UnsupportedOperationException("inference plans need one input and one output, the network has "
                        + net.getNumInputArrays() + " and " + net.getNumOutputArrays());
            }
            producerOfSlot.add(null); // slot 0: the input
            for (int idx : net.topologicalSortOrder()) {
                GraphVertex v = vertices[idx];
                if (v.isInputVertex()) {
                    slotOf[idx] = 0;
                    continue;
                }
                visit(v);
            }
            for (Step s : steps) {
                if (s instanceof ConvStep c) {
                    c.finish();
                }
            }
            int out = slotOf[net.getVertex(net.getConfiguration().getNetworkOutputs().get(0)).getVertexIndex()];
            return new InferencePlan(List.copyOf(steps), producerOfSlot.size(), out);
        }

        private UnsupportedOperationException unsupported(GraphVertex v, String what) {
            return new UnsupportedOperationException("vertex " + v.getVertexName() + ": " + what
                    + " is not supported by InferencePlan (see its class documentation for what is)");
        }

        private int[] inputSlots(GraphVertex v) {
            VertexIndices[] in = v.getInputVertices();
            int[] s = new int[in.length];
            for (int i = 0; i < in.length; i++) {
                s[i] = slotOf[in[i].getVertexIndex()];
            }
            return s;
        }

        /** The step producing the single input of {@code v} if that value feeds only {@code v} and is no output. */
        private Step fusableProducer(GraphVertex v) {
            VertexIndices[] in = v.getInputVertices();
            if (in.length != 1) {
                return null;
            }
            GraphVertex src = vertices[in[0].getVertexIndex()];
            if (src.isInputVertex() || outputs.contains(src.getVertexName()) || src.getOutputVertices().length != 1) {
                return null;
            }
            return producerOfSlot.get(slotOf[src.getVertexIndex()]);
        }

        private void add(GraphVertex v, Step s) {
            s.output = producerOfSlot.size();
            producerOfSlot.add(s);
            steps.add(s);
            slotOf[v.getVertexIndex()] = s.output;
        }

        /** {@code v}'s value is that of the step {@code s} it was fused into. */
        private void alias(GraphVertex v, Step s) {
            slotOf[v.getVertexIndex()] = s.output;
        }

        private void visit(GraphVertex v) {
            String name = v.getVertexName();
            if (v instanceof ElementWiseVertex e && isAdd(e)) { // DL4J's Add vertex and our FastAdd's
                add(v, new AddStep(name, inputSlots(v)));
                return;
            }
            if (!v.hasLayer()) {
                throw unsupported(v, "vertex type " + v.getClass().getSimpleName());
            }
            InputPreProcessor pre = v instanceof LayerVertex lv ? lv.getLayerPreProcessor() : null;
            Layer layer = v.getLayer();
            org.deeplearning4j.nn.conf.layers.Layer conf = layer.conf().getLayer();
            if (pre != null && !(pre instanceof CnnToFeedForwardPreProcessor)) {
                throw unsupported(v, "input preprocessor " + pre.getClass().getSimpleName());
            }
            if (layer instanceof SparseConvolutionLayer || (conf instanceof ConvolutionLayer && conf.getClass() == ConvolutionLayer.class)) {
                conv(v, layer, (ConvolutionLayer) conf);
            } else if (layer instanceof FastBatchNormalizationLayer || conf instanceof BatchNormalization) {
                batchNorm(v, layer, (BatchNormalization) conf);
            } else if (layer instanceof FastReluLayer || isReluActivationLayer(conf)) {
                relu(v);
            } else if (conf instanceof SubsamplingLayer p && conf.getClass() == SubsamplingLayer.class) {
                pool(v, p);
            } else if (conf instanceof GlobalPoolingLayer g) {
                globalPool(v, g);
            } else if (layer instanceof SparseDenseLayer sd) {
                SparseLayer sl = sd;
                requireFixedMask(v, sd.maskMode());
                dense(v, layer, multiply(sl.weights(), sl.mask()));
            } else if (conf instanceof org.deeplearning4j.nn.conf.layers.DenseLayer
                    || conf instanceof org.deeplearning4j.nn.conf.layers.OutputLayer) {
                // DL4J's W [nIn, nOut]; read in 'f' order it is [nOut, nIn] row-major
                dense(v, layer, NdFloats.read(layer.getParam("W"), 'f'));
            } else {
                throw unsupported(v, "layer " + conf.getClass().getSimpleName());
            }
        }

        private static boolean isAdd(ElementWiseVertex e) {
            try {
                java.lang.reflect.Field f = ElementWiseVertex.class.getDeclaredField("op");
                f.setAccessible(true);
                return f.get(e) == ElementWiseVertex.Op.Add; // the runtime vertex's own Op enum
            } catch (ReflectiveOperationException ex) {
                return false;
            }
        }

        private static boolean isReluActivationLayer(org.deeplearning4j.nn.conf.layers.Layer conf) {
            return conf instanceof org.deeplearning4j.nn.conf.layers.ActivationLayer a && a.getActivationFn() instanceof ActivationReLU;
        }

        private static void requireFixedMask(GraphVertex v, MaskMode mode) {
            if (mode != MaskMode.FIXED) {
                throw new UnsupportedOperationException("vertex " + v.getVertexName() + " learns its mask (" + mode
                        + "); apply the learned mask to a fixed-mask network first (sparsify does)");
            }
        }

        private static float[] multiply(float[] w, float[] m) {
            float[] out = w.clone();
            for (int i = 0; i < out.length; i++) {
                out[i] *= m[i];
            }
            return out;
        }

        /** True for identity, false for ReLU; refuses other activations. */
        private boolean reluOf(GraphVertex v, IActivation a) {
            if (a instanceof ActivationIdentity) {
                return false;
            }
            if (a instanceof ActivationReLU) {
                return true;
            }
            throw unsupported(v, "activation " + a);
        }

        /** A convolution step from our SparseConvolution (fixed mask, compressed when frozen N:M) or DL4J's layer. */
        private void conv(GraphVertex v, Layer layer, ConvolutionLayer c) {
            if (c.getCnn2dDataFormat() != null && c.getCnn2dDataFormat() != org.deeplearning4j.nn.conf.CNN2DFormat.NCHW) {
                throw unsupported(v, "data format " + c.getCnn2dDataFormat());
            }
            ConvStep s = new ConvStep(v.getVertexName(), inputSlots(v), (int) c.getNOut(), (int) c.getNIn(), c.getKernelSize(),
                    c.getStride(), c.getPadding(), c.getDilation(), c.getConvolutionMode() == ConvolutionMode.Same);
            if (layer instanceof SparseConvolutionLayer sc) {
                requireFixedMask(v, sc.maskMode());
                s.w = multiply(sc.weights(), sc.mask());
                s.compress = sc.frozenFormat() != null ? sc::compressedWith : null;
                s.channelMajorK = sc.computesInPermutedK();
            } else {
                s.w = NdFloats.read(layer.getParam("W"), 'c');
            }
            s.bias = c.hasBias() ? NdFloats.read(layer.getParam("b"), 'c') : null;
            s.relu = reluOf(v, c.getActivationFn());
            add(v, s);
        }

        private void batchNorm(GraphVertex v, Layer layer, BatchNormalization c) {
            int channels = (int) c.getNOut();
            float[] gamma = new float[channels];
            float[] beta = new float[channels];
            if (c.isLockGammaBeta()) {
                Arrays.fill(gamma, (float) c.getGamma());
                Arrays.fill(beta, (float) c.getBeta());
            } else {
                gamma = NdFloats.read(layer.getParam(FastBatchNormalization.GAMMA), 'c');
                beta = NdFloats.read(layer.getParam(FastBatchNormalization.BETA), 'c');
            }
            float[] mean = NdFloats.read(layer.getParam(FastBatchNormalization.MEAN), 'c');
            float[] scale = new float[channels];
            float[] shift = new float[channels];
            boolean logStd = !(layer instanceof FastBatchNormalizationLayer) && c.isUseLogStd();
            float[] stat = NdFloats.read(layer.getParam(logStd ? "log10stdev" : FastBatchNormalization.VAR), 'c');
            for (int ch = 0; ch < channels; ch++) {
                double std = logStd ? Math.pow(10, stat[ch]) : Math.sqrt(stat[ch] + c.getEps());
                scale[ch] = (float) (gamma[ch] / std);
                shift[ch] = (float) (beta[ch] - mean[ch] * gamma[ch] / std);
            }
            Step p = fusableProducer(v);
            if (p instanceof ConvStep conv && !conv.relu && conv.foldedBn == null) {
                conv.fold(scale, shift, v.getVertexName());
                alias(v, conv);
                return;
            }
            add(v, new AffineStep(v.getVertexName(), inputSlots(v), scale, shift));
        }

        private void relu(GraphVertex v) {
            Step p = fusableProducer(v);
            if (p != null && !p.relu && !(p instanceof DenseStep d && d.softmax)) {
                p.relu = true;
                alias(v, p);
                return;
            }
            add(v, new ReluStep(v.getVertexName(), inputSlots(v)));
        }

        private void pool(GraphVertex v, SubsamplingLayer p) {
            if (p.getPoolingType() != PoolingType.MAX
                    && p.getPoolingType() != PoolingType.AVG) {
                throw unsupported(v, "pooling " + p.getPoolingType());
            }
            if (p.getConvolutionMode() == ConvolutionMode.Same) {
                throw unsupported(v, "pooling with ConvolutionMode.Same");
            }
            if (p.getDilation()[0] != 1 || p.getDilation()[1] != 1) {
                throw unsupported(v, "dilated pooling");
            }
            add(v, new PoolStep(v.getVertexName(), inputSlots(v),
                    p.getPoolingType() == PoolingType.MAX,
                    p.getKernelSize(), p.getStride(), p.getPadding(), p.isAvgPoolIncludePadInDivisor()));
        }

        private void globalPool(GraphVertex v, GlobalPoolingLayer g) {
            if (g.getPoolingType() != PoolingType.AVG && g.getPoolingType() != PoolingType.MAX) {
                throw unsupported(v, "global pooling " + g.getPoolingType());
            }
            add(v, new GlobalPoolStep(v.getVertexName(), inputSlots(v), g.getPoolingType() == PoolingType.MAX));
        }

        private void dense(GraphVertex v, Layer layer, float[] wT) {
            BaseLayer c = (BaseLayer) layer.conf().getLayer();
            int nIn = (int) ((org.deeplearning4j.nn.conf.layers.FeedForwardLayer) c).getNIn();
            int nOut = (int) ((org.deeplearning4j.nn.conf.layers.FeedForwardLayer) c).getNOut();
            IActivation a = c.getActivationFn();
            boolean softmax = a instanceof ActivationSoftmax;
            boolean relu = !softmax && reluOf(v, a);
            float[] bias = layer.getParam("b") != null ? NdFloats.read(layer.getParam("b"), 'c') : null;
            add(v, new DenseStep(v.getVertexName(), inputSlots(v), nIn, nOut, wT, bias, relu, softmax));
        }
    }
}
