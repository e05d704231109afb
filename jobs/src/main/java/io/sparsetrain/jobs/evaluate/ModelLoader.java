package io.sparsetrain.jobs.evaluate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparsetrain.jobs.train.checkpoint.CheckpointStore;
import io.sparsetrain.jobs.train.model.GraphPrunableModel;
import io.sparsetrain.jobs.train.model.MaskedNetworkModel;
import io.sparsetrain.jobs.train.report.TrainReport;
import io.sparsetrain.nn.MaskedNetwork;
import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.MalformedMaskException;
import io.sparsetrain.prune.MaskChecksum;
import io.sparsetrain.prune.MaskSet;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;

/**
 * Loads what {@link ModelSource}s name, through Hadoop (local paths, s3a://, hdfs://), with errors that name the
 * path: a train checkpoint ({@code checkpoints/} with LATEST, one {@code epoch-NNNN} directory, or the run's output
 * directory) via {@link CheckpointStore} (format version and mask checksum checked, masks.bin checked against the
 * network's "M" parameters), or a DL4J model zip (ComputationGraph, or MultiLayerNetwork converted to a graph) with
 * optional {@code --masks} (MaskSet file) applied and frozen.
 */
final class ModelLoader {
  private final Configuration conf;

  ModelLoader(Configuration conf) {
    this.conf = conf;
  }

  LoadedModel load(ModelSource s) {
    return s.kind() == ModelSource.Kind.CHECKPOINT ? loadCheckpoint(s) : loadZip(s);
  }

  private LoadedModel loadCheckpoint(ModelSource s) {
    Path dir = new Path(s.path());
    String outputDir;
    String name;
    try {
      FileSystem fs = dir.getFileSystem(conf);
      if (!fs.exists(dir)) {
        throw new EvaluateException("--checkpoint " + s.path() + " does not exist");
      }
      if (fs.exists(new Path(dir, CheckpointStore.STATE))) { // one checkpoint: <out>/checkpoints/epoch-0003
        name = dir.getName();
        outputDir = dir.getParent().getParent().toString();
      } else {
        Path root = fs.exists(new Path(dir, "checkpoints")) && !fs.exists(new Path(dir, CheckpointStore.LATEST))
            ? new Path(dir, "checkpoints") : dir;
        outputDir = root.getParent().toString();
        if (!root.getName().equals("checkpoints")) {
          throw new EvaluateException("--checkpoint " + s.path() + " is not a checkpoint: expected a train run's "
              + "checkpoints/ directory (with " + CheckpointStore.LATEST + "), one checkpoint directory in it (with "
              + CheckpointStore.STATE + "), or the run's output directory");
        }
        name = new CheckpointStore(outputDir, conf).latest().orElseThrow(() -> new EvaluateException(
            "--checkpoint " + s.path() + " holds no complete checkpoint (no " + CheckpointStore.LATEST
                + " and no directory with " + CheckpointStore.STATE + ")"));
      }
    } catch (IOException e) {
      throw new EvaluateException("--checkpoint " + s.path() + ": " + e.getMessage(), e);
    }
    CheckpointStore.Checkpoint cp;
    try {
      cp = new CheckpointStore(outputDir, conf).load(name);
    } catch (RuntimeException e) {
      throw new EvaluateException("--checkpoint " + s.path() + ": " + e.getMessage(), e);
    }
    ComputationGraph g = cp.network();
    MaskSet masks = cp.masks();
    if (MaskedNetworkModel.isSparse(g)) {
      MaskSet held = MaskedNetwork.of(g).masks();
      if (masks.size() > 0 && !held.equals(masks)) {
        throw new EvaluateException("--checkpoint " + s.path() + ": " + name + "/" + CheckpointStore.MASKS
            + " (checksum " + MaskChecksum.hex(masks.checksum()) + ") differs from the network's mask parameters ("
            + MaskChecksum.hex(held.checksum()) + ")");
      }
      masks = held;
    } else {
      checkStockMasks(g, masks, "--checkpoint " + s.path() + ": " + name + "/" + CheckpointStore.MASKS);
      GraphPrunableModel.applyTo(g, masks);
    }
    String label = s.label() != null ? s.label() : (cp.state().name != null ? cp.state().name : "run") + "@" + name;
    return new LoadedModel(label, s, name, cp.state(), g, g, masks, runNormalization(outputDir));
  }

  /** train.data.normalization from the run's metrics.json (written at the end of training), or null. */
  private String runNormalization(String outputDir) {
    Path p = new Path(outputDir, TrainReport.METRICS);
    try {
      FileSystem fs = p.getFileSystem(conf);
      if (!fs.exists(p)) {
        return null;
      }
      JsonNode n = new ObjectMapper().readTree(read(fs, p)).path("config").path("train.data.normalization");
      return n.isTextual() ? n.asText() : null;
    } catch (IOException e) {
      throw new EvaluateException("cannot read " + p + ": " + e.getMessage(), e);
    }
  }

  private LoadedModel loadZip(ModelSource s) {
    Path p = new Path(s.path());
    ComputationGraph g;
    try {
      FileSystem fs = p.getFileSystem(conf);
      if (!fs.isFile(p)) {
        throw new EvaluateException("--model " + s.path() + " does not exist or is not a file");
      }
      byte[] bytes = read(fs, p);
      g = restore(bytes, s.path());
    } catch (IOException e) {
      throw new EvaluateException("--model " + s.path() + ": cannot read: " + e.getMessage(), e);
    }
    ComputationGraph reference = g;
    MaskSet masks;
    if (s.masks() != null) {
      masks = readMasks(s.masks());
      reference = g.clone();
      String where = "--masks " + s.masks() + " for --model " + s.path();
      if (MaskedNetworkModel.isSparse(g)) {
        MaskedNetwork net = MaskedNetwork.of(g);
        for (String n : masks.names()) {
          if (!net.sparseLayers().containsKey(n)) {
            throw new EvaluateException(where + ": mask for layer " + n + ", which is not a sparse layer of the "
                + "model (sparse layers: " + net.sparseLayers().keySet() + ")");
          }
        }
        try {
          if (net.isFrozen()) {
            net.unfreeze();
          }
          net.applyMasks(masks);
        } catch (IllegalArgumentException | IllegalStateException e) {
          throw new EvaluateException(where + ": " + e.getMessage(), e);
        }
        net.freeze();
        masks = net.masks();
      } else {
        checkStockMasks(g, masks, where);
        GraphPrunableModel.applyTo(g, masks);
      }
    } else {
      masks = MaskedNetworkModel.isSparse(g) ? MaskedNetwork.of(g).masks() : MaskSet.builder().build();
    }
    String label = s.label() != null ? s.label() : p.getName().replaceFirst("\\.zip$", "");
    return new LoadedModel(label, s, null, null, g, reference, masks, null);
  }

  private static ComputationGraph restore(byte[] bytes, String path) throws IOException {
    try (InputStream in = new ByteArrayInputStream(bytes)) {
      return ModelSerializer.restoreComputationGraph(in, false);
    } catch (RuntimeException | IOException first) {
      try (InputStream in = new ByteArrayInputStream(bytes)) {
        return ModelSerializer.restoreMultiLayerNetwork(in, false).toComputationGraph();
      } catch (RuntimeException | IOException second) {
        throw new EvaluateException("--model " + path + " is not a DL4J model zip (ComputationGraph: "
            + first.getMessage() + "; MultiLayerNetwork: " + second.getMessage() + ")", first);
      }
    }
  }

  private MaskSet readMasks(String path) {
    Path p = new Path(path);
    try {
      FileSystem fs = p.getFileSystem(conf);
      if (!fs.isFile(p)) {
        throw new EvaluateException("--masks " + path + " does not exist or is not a file");
      }
      return MaskSet.fromBytes(read(fs, p));
    } catch (MalformedMaskException e) {
      throw new EvaluateException("--masks " + path + " is not a mask file: " + e.getMessage(), e);
    } catch (IOException e) {
      throw new EvaluateException("--masks " + path + ": cannot read: " + e.getMessage(), e);
    }
  }

  /** Every mask names a prunable stock layer and has its shape. */
  private static void checkStockMasks(ComputationGraph g, MaskSet masks, String where) {
    for (String n : masks.names()) {
      Layer l = g.getLayer(n);
      LayerShape shape = l == null ? null : GraphPrunableModel.shapeOf(l);
      if (shape == null) {
        throw new EvaluateException(where + ": mask for layer " + n + ", which is not a prunable layer of the model");
      }
      if (!masks.get(n).shape().equals(shape)) {
        throw new EvaluateException(where + ": mask for layer " + n + " has shape " + masks.get(n).shape()
            + ", the layer's weights are " + shape);
      }
    }
  }

  private static byte[] read(FileSystem fs, Path p) throws IOException {
    try (InputStream in = fs.open(p)) {
      return in.readAllBytes();
    }
  }
}
