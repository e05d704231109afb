package io.sparsetrain.jobs.evaluate;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.misc.ElementWiseMultiplicationLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.NoOp;

/**
 * d loss / d x of a ComputationGraph's own loss (its output layer's loss on the true labels), by DL4J backprop of
 * the real network. DL4J 1.0.0-M2 has no public {@code calculateGradients} for graphs; its backprop sets the
 * gradient with respect to the network input on the input vertex ({@code setEpsilon}), clears the vertices at the
 * end of {@code calcBackpropGradients} and again at the end of {@code computeGradientAndScore()}. The copy used here
 * is a {@link KeepEpsilonsGraph}, which skips the first clearing, with workspaces off, and a listener copies the
 * input vertex's epsilon in {@code onBackwardPass}, which DL4J calls between the two.
 *
 * <p>Backprop runs a training-mode forward pass, which would use batch statistics in batch normalization (and
 * update the running ones) and apply dropout. FGSM needs the gradient of the network as evaluated, so the copy
 * replaces every batch normalization by its inference-mode affine map y = scale[c] * x + shift[c] (a 1x1
 * depthwise convolution for NCHW input, a 1x1 convolution when there is one channel, an element-wise multiplication layer for 2-D input; scale and shift are
 * read by running the original layer in inference mode on 0 and 1) and drops dropout. Every other layer, the
 * sparse layers and their frozen compressed N:M kernels included, is the original one with the original
 * parameters. The original network is not changed.
 */
final class InputGradients {
  private final ComputationGraph net;
  private final KeepEpsilonsGraph keep;

  private InputGradients(ComputationGraph net, KeepEpsilonsGraph keep) {
    this.net = net;
    this.keep = keep;
  }

  /**
   * @param model a single-input, single-output graph
   * @param sample a few input examples (NCHW or 2-D), used to see which batch normalizations get 4-D input
   */
  static InputGradients of(ComputationGraph model, INDArray sample) {
    ComputationGraphConfiguration conf = model.getConfiguration().clone();
    if (conf.getNetworkInputs().size() != 1 || conf.getNetworkOutputs().size() != 1) {
      throw new EvaluateException("evaluation needs a network with one input and one output, got inputs "
          + conf.getNetworkInputs() + " and outputs " + conf.getNetworkOutputs());
    }
    conf.setTrainingWorkspaceMode(WorkspaceMode.NONE);
    conf.setInferenceWorkspaceMode(WorkspaceMode.NONE);
    Map<String, Integer> ranks = inputRanks(model, sample);
    Map<String, float[][]> affine = new LinkedHashMap<>();
    for (Map.Entry<String, GraphVertex> e : conf.getVertices().entrySet()) {
      if (!(e.getValue() instanceof LayerVertex lv)) {
        continue;
      }
      String name = e.getKey();
      org.deeplearning4j.nn.conf.layers.Layer lc = lv.getLayerConf().getLayer();
      if (lc instanceof BatchNormalization bn) {
        int rank = ranks.getOrDefault(name, 4);
        if (rank == 4 && bn.getCnn2DFormat() == CNN2DFormat.NHWC) {
          throw new EvaluateException("batch normalization " + name + " is NHWC; only NCHW networks are supported");
        }
        int c = (int) bn.getNOut();
        float[][] sa = inferenceAffine(model.getLayer(name), c, rank);
        affine.put(name, sa);
        // one channel (STR-BN can leave a single filter): a plain 1x1 convolution, because DL4J 1.0.0-M2's
        // depthwise_conv2d_bp fails on one channel ("MmulHelper::dot: Z array must be scalar")
        org.deeplearning4j.nn.conf.layers.Layer rep = rank == 4 && c == 1
            ? new ConvolutionLayer.Builder(1, 1).nIn(1).nOut(1).stride(1, 1).padding(0, 0)
                .convolutionMode(ConvolutionMode.Truncate).dataFormat(CNN2DFormat.NCHW).hasBias(true)
                .activation(Activation.IDENTITY).weightInit(WeightInit.ONES).updater(new NoOp())
                .biasUpdater(new NoOp()).build()
            : rank == 4
            ? new DepthwiseConvolution2D.Builder(1, 1).nIn(c).nOut(c).depthMultiplier(1).stride(1, 1).padding(0, 0)
                .convolutionMode(ConvolutionMode.Truncate).dataFormat(CNN2DFormat.NCHW).hasBias(true)
                .activation(Activation.IDENTITY).weightInit(WeightInit.ONES).updater(new NoOp())
                .biasUpdater(new NoOp()).build()
            : new ElementWiseMultiplicationLayer.Builder().nIn(c).nOut(c).activation(Activation.IDENTITY)
                .weightInit(WeightInit.ONES).updater(new NoOp()).biasUpdater(new NoOp()).build();
        rep.setLayerName(name);
        NeuralNetConfiguration nnc = lv.getLayerConf().clone();
        nnc.setLayer(rep);
        LayerVertex nv = new LayerVertex(nnc, lv.getPreProcessor());
        nv.setOutputVertex(lv.isOutputVertex());
        e.setValue(nv);
      } else {
        lc.setIDropout(null);
      }
    }
    KeepEpsilonsGraph g = new KeepEpsilonsGraph(conf, conf.getNetworkInputs().get(0));
    g.init();
    g.setListeners(g.capture);
    for (Layer l : g.getLayers()) {
      String name = l.conf().getLayer().getLayerName();
      float[][] sa = affine.get(name);
      if (sa != null) {
        INDArray w = l.getParam("W");
        INDArray b = l.getParam("b");
        w.assign(Nd4j.createFromArray(sa[0]).reshape(w.shape()).castTo(w.dataType()));
        b.assign(Nd4j.createFromArray(sa[1]).reshape(b.shape()).castTo(b.dataType()));
        continue;
      }
      Layer src = model.getLayer(name);
      for (Map.Entry<String, INDArray> p : src.paramTable().entrySet()) {
        l.getParam(p.getKey()).assign(p.getValue());
      }
    }
    return new InputGradients(g, g);
  }

  /** Rank of the input each layer vertex receives (after its preprocessor), from one inference pass. */
  static Map<String, Integer> inputRanks(ComputationGraph model, INDArray sample) {
    Map<String, INDArray> acts = model.feedForward(new INDArray[] {sample}, false, false);
    Map<String, Integer> out = new LinkedHashMap<>();
    ComputationGraphConfiguration conf = model.getConfiguration();
    for (Map.Entry<String, List<String>> e : conf.getVertexInputs().entrySet()) {
      if (e.getValue().size() == 1) {
        INDArray a = acts.get(e.getValue().get(0));
        if (a == null && conf.getNetworkInputs().contains(e.getValue().get(0))) {
          a = sample;
        }
        if (a != null) {
          GraphVertex v = conf.getVertices().get(e.getKey());
          boolean flattens = v instanceof LayerVertex lv && lv.getPreProcessor() != null
              && lv.getPreProcessor().getClass().getSimpleName().startsWith("CnnToFeedForward");
          out.put(e.getKey(), flattens ? 2 : a.rank());
        }
      }
    }
    return out;
  }

  /**
   * {scale[c], shift[c]} of a batch normalization layer in inference mode, read by running the layer on an
   * all-zero and an all-one input: y(0) = shift, y(1) - y(0) = scale. Exact for whatever way the layer stores its
   * statistics (variance or log10 std).
   */
  static float[][] inferenceAffine(Layer bn, int channels, int rank) {
    long[] shape = rank == 4 ? new long[] {2, channels, 1, 1} : new long[] {2, channels};
    INDArray x = Nd4j.zeros(DataType.FLOAT, shape);
    x.get(NDArrayIndex.point(1)).assign(1f);
    INDArray y = bn.activate(x, false, LayerWorkspaceMgr.noWorkspaces()).dup().reshape(2, channels);
    bn.clear();
    float[] shift = y.getRow(0).toFloatVector();
    float[] one = y.getRow(1).toFloatVector();
    float[] scale = new float[channels];
    for (int c = 0; c < channels; c++) {
      scale[c] = one[c] - shift[c];
    }
    return new float[][] {scale, shift};
  }

  /** The inference-form copy (for tests and the certificate's BN scales). */
  ComputationGraph network() {
    return net;
  }

  /**
   * Per-example input gradients d loss_i / d x_i for a minibatch: features [B, ...] and one-hot labels
   * [B, classes]; loss_i is the output layer's loss of example i (DL4J's epsilons are not divided by B, the score
   * is; a test checks this against finite differences of the mean score).
   */
  INDArray gradient(INDArray features, INDArray labels) {
    net.setInputs(features);
    net.setLabels(labels);
    keep.capture.captured = null;
    net.computeGradientAndScore();
    INDArray out = keep.capture.captured;
    keep.capture.captured = null;
    if (out == null) {
      throw new IllegalStateException("DL4J left no gradient on input vertex " + keep.input);
    }
    net.clearLayersStates();
    return out;
  }

  /** A graph whose backprop leaves the vertex epsilons in place (it skips the clearing at the end). */
  static final class KeepEpsilonsGraph extends ComputationGraph {
    private static final long serialVersionUID = 1L;

    final String input;
    final Capture capture;

    KeepEpsilonsGraph(ComputationGraphConfiguration conf, String input) {
      super(conf);
      this.input = input;
      this.capture = new Capture(input);
    }

    @Override
    protected void calcBackpropGradients(boolean clearLayers, boolean truncatedBPTT, INDArray... externalEpsilons) {
      super.calcBackpropGradients(false, truncatedBPTT, externalEpsilons);
    }
  }

  /** Copies the input vertex's epsilon right after backprop. */
  static final class Capture extends BaseTrainingListener {
    private final String input;
    INDArray captured;

    Capture(String input) {
      this.input = input;
    }

    @Override
    public void onBackwardPass(Model model) {
      INDArray e = ((ComputationGraph) model).getVertex(input).getEpsilon();
      captured = e == null ? null : e.dup();
    }
  }

  /** Class probabilities of the inference-form copy (equal to the original's inference output). */
  INDArray output(INDArray features) {
    return net.outputSingle(false, features);
  }
}
