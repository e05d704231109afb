package io.sparsetrain.jobs.train.model;

import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Deconvolution2D;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link PrunableModel} over a stock DL4J {@link ComputationGraph}: prunable layers are 2-D convolutions (not
 * depthwise, separable or transposed) and dense/output layers; masks multiply the "W" parameter views in place.
 */
public final class GraphPrunableModel implements PrunableModel {
  private final ComputationGraph graph;
  private MaskSet masks = MaskSet.builder().build();
  private boolean frozen;

  public GraphPrunableModel(ComputationGraph graph) {
    this.graph = Objects.requireNonNull(graph, "graph");
  }

  /** A model over {@code graph} that already carries {@code masks} (applied to its weights) and freeze state. */
  public GraphPrunableModel(ComputationGraph graph, MaskSet masks, boolean frozen) {
    this.graph = Objects.requireNonNull(graph, "graph");
    applyTo(graph, masks);
    this.masks = masks;
    this.frozen = frozen;
  }

  @Override
  public ComputationGraph graph() {
    return graph;
  }

  /** Shape of the W parameter of a prunable layer in the mask layout, or null if the layer is not prunable. */
  public static LayerShape shapeOf(Layer layer) {
    org.deeplearning4j.nn.conf.layers.Layer conf = layer.conf().getLayer();
    if (conf instanceof DepthwiseConvolution2D || conf instanceof SeparableConvolution2D
        || conf instanceof Deconvolution2D) {
      return null; // left dense by default (METHODS.md)
    }
    INDArray w = layer.paramTable().get("W");
    if (w == null) {
      return null;
    }
    long[] s = w.shape();
    if (conf instanceof ConvolutionLayer && s.length == 4) {
      return LayerShape.conv((int) s[0], (int) s[1], (int) s[2], (int) s[3]);
    }
    if ((conf instanceof DenseLayer || conf instanceof OutputLayer) && s.length == 2) {
      return LayerShape.denseInOut((int) s[0], (int) s[1]);
    }
    return null;
  }

  /** Layers of the graph in topological order. */
  static List<Layer> layersInOrder(ComputationGraph graph) {
    List<Layer> out = new ArrayList<>();
    GraphVertex[] vertices = graph.getVertices();
    for (int idx : graph.topologicalSortOrder()) {
      GraphVertex v = vertices[idx];
      if (v.hasLayer()) {
        out.add(v.getLayer());
      }
    }
    return out;
  }

  @Override
  public List<PrunableLayer> prunableLayers() {
    List<PrunableLayer> out = new ArrayList<>();
    for (Layer l : layersInOrder(graph)) {
      LayerShape shape = shapeOf(l);
      if (shape != null) {
        float[] w = l.paramTable().get("W").dup('c').data().asFloat();
        out.add(new PrunableLayer(l.conf().getLayer().getLayerName(), shape, w));
      }
    }
    return out;
  }

  @Override
  public void applyMasks(MaskSet newMasks) {
    if (frozen && !newMasks.equals(masks)) {
      throw new IllegalStateException("masks are frozen (checksum " + hex(masks)
          + "); refusing new masks with checksum " + hex(newMasks));
    }
    applyTo(graph, newMasks);
    this.masks = newMasks;
  }

  private static String hex(MaskSet s) {
    return io.sparsetrain.prune.MaskChecksum.hex(s.checksum());
  }

  /** Multiplies each masked layer's W by its 0/1 mask, in place. */
  public static void applyTo(ComputationGraph graph, MaskSet masks) {
    for (String name : masks.names()) {
      Layer layer = graph.getLayer(name);
      if (layer == null) {
        throw new IllegalArgumentException("mask for layer " + name + ", which is not in the network");
      }
      INDArray w = layer.getParam("W");
      Mask mask = masks.get(name);
      if (mask.size() != w.length()) {
        throw new IllegalArgumentException("mask for layer " + name + " has " + mask.size() + " entries but W has "
            + w.length());
      }
      w.muli(Nd4j.create(mask.toFloatArray(), w.shape(), 'c').castTo(w.dataType()));
    }
  }

  @Override
  public MaskSet masks() {
    return masks;
  }

  @Override
  public void freeze() {
    frozen = true;
  }

  @Override
  public boolean isFrozen() {
    return frozen;
  }
}
