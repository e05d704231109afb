package io.sparsetrain.dataprep;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sparsetrain.dataprep.source.SkippedRecord;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * {@code manifest.json} of a prepared dataset, versioned ({@link #FORMAT_VERSION}). It is written last, after
 * every shard, so a dataset without it is unfinished and {@link #read} refuses it. Shard paths are relative to
 * the dataset directory. See docs/data-prep.md for an example.
 */
@JsonPropertyOrder({"formatVersion", "kind", "createdBy", "createdAt", "runId", "inputFormat", "payload", "layout",
    "image", "numClasses", "classes", "classIndexFile", "splits", "options"})
@JsonInclude(JsonInclude.Include.ALWAYS)
public final class Manifest {
  public static final int FORMAT_VERSION = 1;
  public static final String KIND = "sparsetrain-image-dataset";
  public static final String FILE_NAME = "manifest.json";
  public static final String CLASS_INDEX_FILE = "classes.json";

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  public int formatVersion = FORMAT_VERSION;
  public String kind = KIND;
  public String createdBy;
  /** ISO-8601 UTC instant of publication. */
  public String createdAt;
  public String runId;
  public String inputFormat;
  /** "raw" or "encoded" (see {@link Payload}). */
  public String payload;
  /** Sample order of raw payloads: always "HWC". */
  public String layout = "HWC";
  public ImageShape image = new ImageShape();
  public int numClasses;
  /** Class names in label-index order. */
  public List<String> classes = new ArrayList<>();
  public String classIndexFile = CLASS_INDEX_FILE;
  public Map<String, Split> splits = new LinkedHashMap<>();
  /** Every option of the run (paths without credentials; no Hadoop/Spark settings). */
  public Map<String, Object> options = new LinkedHashMap<>();

  /** The dataset directory this manifest was read from (not serialized). */
  @JsonIgnore
  public String datasetPath;

  /** Image shape; height/width null when sizes vary (no --resize/--center-crop on a mixed-size input). */
  @JsonPropertyOrder({"height", "width", "channels"})
  public static final class ImageShape {
    public Integer height;
    public Integer width;
    public int channels;

    @JsonIgnore
    public boolean isFixed() {
      return height != null && width != null;
    }
  }

  /** One split: row count, per-class counts (class name to rows, index order), shards, skipped records. */
  @JsonPropertyOrder({"rows", "classCounts", "shards", "skippedCount", "skipped"})
  public static final class Split {
    public long rows;
    public Map<String, Long> classCounts = new LinkedHashMap<>();
    public List<Shard> shards = new ArrayList<>();
    public int skippedCount;
    public List<SkippedRecord> skipped = new ArrayList<>();
  }

  /** One Parquet file: path relative to the dataset, rows, bytes, SHA-256 of the file bytes (hex). */
  @JsonPropertyOrder({"path", "rows", "bytes", "sha256"})
  public static final class Shard {
    public String path;
    public long rows;
    public long bytes;
    public String sha256;
  }

  /** The split, or an error listing the splits there are. */
  public Split split(String name) {
    Split s = splits.get(name);
    if (s == null) {
      throw new DataPrepException("dataset " + datasetPath + " has no split '" + name + "' (splits: "
          + splits.keySet() + ")");
    }
    return s;
  }

  /** Absolute paths of the split's shards, in shard order. */
  public List<String> shardPaths(String split) {
    List<String> out = new ArrayList<>();
    for (Shard s : split(split).shards) {
      out.add(new Path(datasetPath, s.path).toString());
    }
    return out;
  }

  public String toJson() {
    try {
      return JSON.writeValueAsString(this);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static Manifest fromJson(String json, String datasetPath) {
    Manifest m;
    try {
      m = JSON.readValue(json, Manifest.class);
    } catch (IOException e) {
      throw new DataPrepException("manifest of " + datasetPath + " is not valid JSON: " + e.getMessage(), e);
    }
    if (!KIND.equals(m.kind)) {
      throw new DataPrepException("manifest of " + datasetPath + " has kind '" + m.kind + "', expected " + KIND);
    }
    if (m.formatVersion != FORMAT_VERSION) {
      throw new DataPrepException("manifest of " + datasetPath + " has formatVersion " + m.formatVersion
          + "; this build reads version " + FORMAT_VERSION);
    }
    m.datasetPath = datasetPath;
    return m;
  }

  /**
   * Reads {@code <dataset>/manifest.json} ({@code path} may also name the manifest file itself) through Hadoop,
   * so local paths and s3a:// both work.
   */
  public static Manifest read(String path, Configuration hadoopConf) {
    Path p = new Path(path);
    Path dataset = p.getName().equals(FILE_NAME) ? p.getParent() : p;
    Path file = new Path(dataset, FILE_NAME);
    String shown = PrepOptions.redact(dataset.toString());
    try {
      FileSystem fs = file.getFileSystem(hadoopConf);
      if (!fs.exists(file)) {
        throw new DataPrepException("no " + FILE_NAME + " in " + shown + ": not a finished sparsetrain dataset "
            + "(the manifest is written last; an interrupted prep leaves none)");
      }
      try (InputStream in = fs.open(file)) {
        return fromJson(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8), dataset.toString());
      }
    } catch (IOException e) {
      throw new DataPrepException("cannot read " + FILE_NAME + " of " + shown + ": " + e.getMessage(), e);
    }
  }

  /** A short human summary: per split rows, shards, per-class counts, skipped. */
  public String summary() {
    StringBuilder sb = new StringBuilder();
    sb.append("dataset ").append(PrepOptions.redact(datasetPath)).append(" (format v").append(formatVersion)
        .append(", ").append(inputFormat).append(" -> ").append(payload).append(' ').append(layout)
        .append(", image ").append(image.height == null ? "?" : image.height).append('x')
        .append(image.width == null ? "?" : image.width).append('x').append(image.channels)
        .append(", ").append(numClasses).append(" classes)\n");
    for (Map.Entry<String, Split> e : splits.entrySet()) {
      Split s = e.getValue();
      sb.append("  ").append(e.getKey()).append(": ").append(s.rows).append(" rows in ").append(s.shards.size())
          .append(" shards, ").append(s.skippedCount).append(" skipped\n");
      sb.append("    per class:");
      s.classCounts.forEach((k, v) -> sb.append(' ').append(k).append('=').append(v));
      sb.append('\n');
      for (SkippedRecord r : s.skipped) {
        sb.append("    skipped ").append(r).append('\n');
      }
    }
    return sb.toString();
  }
}
