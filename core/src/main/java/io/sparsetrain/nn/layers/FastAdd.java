package io.sparsetrain.nn.layers;

import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * The residual sum of two same-shape activations, an {@link ElementWiseVertex} with {@code Op.Add} whose forward
 * pass on small activations (up to {@link FastReluLayer#MAX_JAVA_FLOATS}) is one Java loop instead of ND4J's copy
 * and add (per-op overhead that took 9-15% of ResNet-20's batch-1 inference on our layers). The backward pass then
 * hands each input a copy of the epsilon, as DL4J's does; larger activations and anything else than two float inputs
 * of the same shape go to DL4J's implementation (faster there, see {@link FastReluLayer}).
 */
public class FastAdd extends ElementWiseVertex {

    public FastAdd() {
        super(Op.Add);
    }

    /** For DL4J's JSON: the op is always {@code Add}. */
    @JsonCreator
    public FastAdd(@JsonProperty("op") Op op) {
        super(Op.Add);
        if (op != null && op != Op.Add) {
            throw new IllegalArgumentException("FastAdd adds; got op " + op);
        }
    }

    @Override
    public GraphVertex instantiate(ComputationGraph graph, String name, int idx, INDArray paramsView, boolean initializeParams,
                                   DataType networkDatatype) {
        return new Vertex(graph, name, idx, networkDatatype);
    }

    @Override
    public FastAdd clone() {
        return new FastAdd();
    }

    /** The vertex instance. */
    static final class Vertex extends org.deeplearning4j.nn.graph.vertex.impl.ElementWiseVertex {

        Vertex(ComputationGraph graph, String name, int idx, DataType dataType) {
            super(graph, name, idx, org.deeplearning4j.nn.graph.vertex.impl.ElementWiseVertex.Op.Add, dataType);
        }

        /** True when the last forward pass took the fast path (DL4J's backward needs its own forward's state). */
        private boolean fast;

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr workspaceMgr) {
            INDArray[] in = getInputs();
            fast = in != null && in.length == 2 && in[0] != null && in[1] != null && in[0].dataType() == DataType.FLOAT
                    && in[1].dataType() == DataType.FLOAT && java.util.Arrays.equals(in[0].shape(), in[1].shape())
                    && in[0].length() <= FastReluLayer.MAX_JAVA_FLOATS;
            if (!fast) {
                return super.doForward(training, workspaceMgr);
            }
            float[] a = NdFloats.read(in[0], 'c');
            float[] b = NdFloats.read(in[1], 'c');
            for (int i = 0; i < a.length; i++) {
                a[i] += b[i];
            }
            INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, DataType.FLOAT, in[0].shape(), 'c');
            NdFloats.write(a, out, 'c');
            return out;
        }

        /** d(a + b)/da = d(a + b)/db = 1: each input gets its own copy of the epsilon (DL4J accumulates in place). */
        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr workspaceMgr) {
            if (!fast) {
                return super.doBackward(tbptt, workspaceMgr);
            }
            if (!canDoBackward()) {
                throw new IllegalStateException("cannot do backward pass for vertex " + getVertexName() + ": inputs or epsilon not set");
            }
            INDArray[] out = new INDArray[2];
            for (int i = 0; i < out.length; i++) {
                out[i] = workspaceMgr.dup(ArrayType.ACTIVATION_GRAD, epsilon);
            }
            return new Pair<>(null, out);
        }
    }
}
