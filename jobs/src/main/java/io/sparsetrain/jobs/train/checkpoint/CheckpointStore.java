package io.sparsetrain.jobs.train.checkpoint;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sparsetrain.prune.MaskChecksum;
import io.sparsetrain.prune.MaskSet;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;

/**
 * Checkpoints under {@code <output.dir>/checkpoints} on any Hadoop file system (file://, s3a://, hdfs://):
 * one directory per checkpoint ({@code epoch-0003}, {@code freeze-step-000123}) holding {@value #MODEL} (DL4J
 * model zip with updater state), {@value #MASKS} ({@link MaskSet} format) and {@value #STATE}
 * ({@link TrainState}). A checkpoint is written under a temporary name and renamed when complete; the
 * {@value #LATEST} pointer is written last, so a crash leaves either the old or the new checkpoint, never half
 * of one. On s3a (rename = copy) readers still only see a name once its copy is complete.
 */
public final class CheckpointStore {
  public static final String MODEL = "model.zip";
  public static final String MASKS = "masks.bin";
  public static final String STATE = "state.json";
  public static final String LATEST = "LATEST";

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private final Path root;
  private final Configuration conf;

  /** A loaded checkpoint. */
  public record Checkpoint(String name, ComputationGraph network, MaskSet masks, TrainState state) {}

  public CheckpointStore(String outputDir, Configuration conf) {
    this.root = new Path(outputDir, "checkpoints");
    this.conf = conf;
  }

  public Path root() {
    return root;
  }

  /** Name of the checkpoint at the end of a 0-based epoch. */
  public static String epochName(int epoch) {
    return String.format("epoch-%04d", epoch);
  }

  /** Name of the checkpoint written when the masks freeze. */
  public static String freezeName(long step) {
    return String.format("freeze-step-%06d", step);
  }

  /** Writes a checkpoint atomically and points LATEST to it. */
  public void save(String name, ComputationGraph network, MaskSet masks, TrainState state) {
    state.maskChecksum = MaskChecksum.hex(masks.checksum());
    try {
      FileSystem fs = root.getFileSystem(conf);
      fs.mkdirs(root);
      Path tmp = new Path(root, "_tmp-" + name + "-" + UUID.randomUUID());
      fs.mkdirs(tmp);
      ByteArrayOutputStream zip = new ByteArrayOutputStream();
      ModelSerializer.writeModel(network, zip, true);
      write(fs, new Path(tmp, MODEL), zip.toByteArray());
      write(fs, new Path(tmp, MASKS), masks.toBytes());
      write(fs, new Path(tmp, STATE), JSON.writeValueAsBytes(state));
      Path dst = new Path(root, name);
      if (fs.exists(dst)) {
        fs.delete(dst, true);
      }
      if (!fs.rename(tmp, dst)) {
        throw new IOException("rename " + tmp + " -> " + dst + " failed");
      }
      Path latestTmp = new Path(root, "_tmp-" + LATEST + "-" + UUID.randomUUID());
      write(fs, latestTmp, (name + "\n").getBytes(StandardCharsets.UTF_8));
      Path latest = new Path(root, LATEST);
      if (fs.exists(latest)) {
        fs.delete(latest, false);
      }
      if (!fs.rename(latestTmp, latest)) {
        throw new IOException("rename " + latestTmp + " -> " + latest + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoint " + name + " under " + root + ": " + e.getMessage(), e);
    }
  }

  /** Name of the newest complete checkpoint: LATEST, or (if it is missing) the one with the highest step. */
  public Optional<String> latest() {
    try {
      FileSystem fs = root.getFileSystem(conf);
      if (!fs.exists(root)) {
        return Optional.empty();
      }
      Path latest = new Path(root, LATEST);
      if (fs.exists(latest)) {
        String name = new String(read(fs, latest), StandardCharsets.UTF_8).trim();
        if (fs.exists(new Path(new Path(root, name), STATE))) {
          return Optional.of(name);
        }
      }
      String best = null;
      long bestStep = -1;
      for (FileStatus st : fs.listStatus(root)) {
        String n = st.getPath().getName();
        if (st.isDirectory() && !n.startsWith("_tmp-") && fs.exists(new Path(st.getPath(), STATE))) {
          TrainState s = readState(fs, new Path(st.getPath(), STATE));
          if (s.step > bestStep) {
            bestStep = s.step;
            best = n;
          }
        }
      }
      return Optional.ofNullable(best);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list checkpoints under " + root + ": " + e.getMessage(), e);
    }
  }

  /**
   * Loads the checkpoint at {@code dir}: a checkpoint directory ({@code .../checkpoints/epoch-0004}), a checkpoints
   * directory (its LATEST) or a run's output directory (its LATEST).
   */
  public static Checkpoint loadFrom(String dir, Configuration conf) {
    Path p = new Path(dir);
    try {
      FileSystem fs = p.getFileSystem(conf);
      if (fs.exists(new Path(p, STATE))) {
        return new CheckpointStore(p.getParent().getParent().toString(), conf).load(p.getName());
      }
      CheckpointStore store = fs.exists(new Path(p, LATEST)) || p.getName().equals("checkpoints")
          ? new CheckpointStore(p.getParent().toString(), conf) : new CheckpointStore(dir, conf);
      return store.load(store.latest().orElseThrow(() -> new IOException("no checkpoint there (no " + STATE
          + ", no " + LATEST + ")")));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read checkpoint " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Loads a checkpoint, model with its updater state; checks the masks against the recorded checksum. */
  public Checkpoint load(String name) {
    Path dir = new Path(root, name);
    try {
      FileSystem fs = dir.getFileSystem(conf);
      TrainState state = readState(fs, new Path(dir, STATE));
      MaskSet masks;
      try {
        masks = MaskSet.fromBytes(read(fs, new Path(dir, MASKS)));
      } catch (io.sparsetrain.prune.MalformedMaskException e) {
        throw new IOException(MASKS + ": " + e.getMessage(), e);
      }
      String sum = MaskChecksum.hex(masks.checksum());
      if (!sum.equals(state.maskChecksum)) {
        throw new IOException("masks.bin checksum " + sum + " differs from state.json's " + state.maskChecksum);
      }
      ComputationGraph g;
      try (InputStream in = new ByteArrayInputStream(read(fs, new Path(dir, MODEL)))) {
        g = ModelSerializer.restoreComputationGraph(in, true);
      }
      return new Checkpoint(name, g, masks, state);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read checkpoint " + dir + ": " + e.getMessage(), e);
    }
  }

  private static TrainState readState(FileSystem fs, Path p) throws IOException {
    TrainState s = JSON.readValue(read(fs, p), TrainState.class);
    if (s.formatVersion != TrainState.FORMAT_VERSION) {
      throw new IOException(p + " has checkpoint format version " + s.formatVersion + ", this build reads "
          + TrainState.FORMAT_VERSION);
    }
    return s;
  }

  private static void write(FileSystem fs, Path p, byte[] bytes) throws IOException {
    try (OutputStream out = fs.create(p, true)) {
      out.write(bytes);
    }
  }

  private static byte[] read(FileSystem fs, Path p) throws IOException {
    try (InputStream in = fs.open(p)) {
      return in.readAllBytes();
    }
  }
}
