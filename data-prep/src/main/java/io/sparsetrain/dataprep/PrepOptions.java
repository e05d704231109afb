package io.sparsetrain.dataprep;

import java.net.URI;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The settings of one {@code prep} run, immutable and validated in one place ({@link Builder#build()}), with a
 * {@link #toString()} that prints every setting for the job log. Paths are local or any Hadoop URI (s3a://).
 */
public final class PrepOptions {
  public static final int DEFAULT_SHARDS = 4;
  public static final long DEFAULT_SEED = 42L;
  public static final Payload DEFAULT_PAYLOAD = Payload.RAW;
  public static final String DEFAULT_SPARK_PROFILE = "local";
  /** Upper bound on {@code --shards}; one Parquet file (and one write task) per shard. */
  public static final int MAX_SHARDS = 100_000;

  private final InputFormat format;
  private final String input;
  private final String output;
  private final int shards;
  private final long seed;
  private final Payload payload;
  private final TargetSize resize;
  private final TargetSize centerCrop;
  private final Integer channels;
  private final Preset preset;
  private final List<String> classNames;
  private final boolean skipBad;
  private final boolean overwrite;
  private final String sparkProfile;

  private PrepOptions(Builder b) {
    this.format = b.format;
    this.input = b.input;
    this.output = b.output;
    this.shards = b.shards;
    this.seed = b.seed;
    this.payload = b.payload;
    this.resize = b.resize;
    this.centerCrop = b.centerCrop;
    this.channels = b.channels;
    this.preset = b.preset;
    this.classNames = b.classNames == null ? null : List.copyOf(b.classNames);
    this.skipBad = b.skipBad;
    this.overwrite = b.overwrite;
    this.sparkProfile = b.sparkProfile;
  }

  public static Builder builder() {
    return new Builder();
  }

  public InputFormat format() {
    return format;
  }

  public String input() {
    return input;
  }

  public String output() {
    return output;
  }

  public int shards() {
    return shards;
  }

  public long seed() {
    return seed;
  }

  public Payload payload() {
    return payload;
  }

  /** Null when not resizing. */
  public TargetSize resize() {
    return resize;
  }

  /** Null when not cropping. */
  public TargetSize centerCrop() {
    return centerCrop;
  }

  /** The requested channel count, or the source's natural one (IDX 1; CIFAR and folders 3). */
  public int channels() {
    if (channels != null) {
      return channels;
    }
    return format == InputFormat.IDX ? 1 : 3;
  }

  /** Class names in label-index order from {@code --class-names} or {@code --preset}; null when neither. */
  public List<String> requestedClassNames() {
    if (classNames != null) {
      return classNames;
    }
    return preset == null ? null : preset.classNames();
  }

  public Preset preset() {
    return preset;
  }

  public boolean skipBad() {
    return skipBad;
  }

  public boolean overwrite() {
    return overwrite;
  }

  public String sparkProfile() {
    return sparkProfile;
  }

  /** Every setting, for the manifest ({@code options}); paths without any user-info part. */
  public Map<String, Object> asMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("format", format.cliName());
    m.put("input", redact(input));
    m.put("output", redact(output));
    m.put("shards", shards);
    m.put("seed", seed);
    m.put("payload", payload.cliName());
    m.put("resize", resize == null ? null : resize.toString());
    m.put("centerCrop", centerCrop == null ? null : centerCrop.toString());
    m.put("channels", channels());
    m.put("preset", preset == null ? null : preset.cliName());
    m.put("classNames", classNames);
    m.put("skipBad", skipBad);
    m.put("overwrite", overwrite);
    return m;
  }

  /** A path with any {@code user:secret@} part of its URI removed, safe for logs and manifests. */
  public static String redact(String path) {
    if (path == null) {
      return null;
    }
    try {
      URI u = new URI(path);
      if (u.getRawUserInfo() != null) {
        return new URI(u.getScheme(), null, u.getHost(), u.getPort(), u.getPath(), u.getQuery(), u.getFragment())
            .toString();
      }
    } catch (Exception e) {
      // not a URI: a plain local path, nothing to redact
    }
    return path;
  }

  @Override
  public String toString() {
    return "PrepOptions" + asMap();
  }

  /** Builder; {@link #build()} validates and names the option and value of any problem. */
  public static final class Builder {
    private InputFormat format;
    private String input;
    private String output;
    private int shards = DEFAULT_SHARDS;
    private long seed = DEFAULT_SEED;
    private Payload payload = DEFAULT_PAYLOAD;
    private TargetSize resize;
    private TargetSize centerCrop;
    private Integer channels;
    private Preset preset;
    private List<String> classNames;
    private boolean skipBad;
    private boolean overwrite;
    private String sparkProfile = DEFAULT_SPARK_PROFILE;

    public Builder format(InputFormat v) {
      this.format = v;
      return this;
    }

    public Builder input(String v) {
      this.input = v;
      return this;
    }

    public Builder output(String v) {
      this.output = v;
      return this;
    }

    public Builder shards(int v) {
      this.shards = v;
      return this;
    }

    public Builder seed(long v) {
      this.seed = v;
      return this;
    }

    public Builder payload(Payload v) {
      this.payload = v;
      return this;
    }

    public Builder resize(TargetSize v) {
      this.resize = v;
      return this;
    }

    public Builder centerCrop(TargetSize v) {
      this.centerCrop = v;
      return this;
    }

    public Builder channels(Integer v) {
      this.channels = v;
      return this;
    }

    public Builder preset(Preset v) {
      this.preset = v;
      return this;
    }

    public Builder classNames(List<String> v) {
      this.classNames = v == null ? null : new ArrayList<>(v);
      return this;
    }

    public Builder skipBad(boolean v) {
      this.skipBad = v;
      return this;
    }

    public Builder overwrite(boolean v) {
      this.overwrite = v;
      return this;
    }

    public Builder sparkProfile(String v) {
      this.sparkProfile = v;
      return this;
    }

    public PrepOptions build() {
      if (format == null) {
        throw new DataPrepException("--format is required (folders|idx|cifar10|cifar100)");
      }
      if (input == null || input.isBlank()) {
        throw new DataPrepException("--input is required");
      }
      if (output == null || output.isBlank()) {
        throw new DataPrepException("--output is required");
      }
      if (shards < 1 || shards > MAX_SHARDS) {
        throw new DataPrepException("--shards must be in 1.." + MAX_SHARDS + ", got " + shards);
      }
      if (channels != null && channels != 1 && channels != 3) {
        throw new DataPrepException("--channels must be 1 or 3, got " + channels);
      }
      if (centerCrop != null && centerCrop.isShorterSide()) {
        throw new DataPrepException("--center-crop must be HxW or S, got '" + centerCrop + "'");
      }
      if (preset != null && classNames != null) {
        throw new DataPrepException("--preset " + preset.cliName() + " and --class-names are exclusive: give one");
      }
      if (classNames != null) {
        if (classNames.isEmpty() || classNames.stream().anyMatch(n -> n == null || n.isBlank())) {
          throw new DataPrepException("--class-names must be a non-empty list of non-blank names, got " + classNames);
        }
        if (new HashSet<>(classNames).size() != classNames.size()) {
          throw new DataPrepException("--class-names has duplicates: " + classNames);
        }
      }
      if (sparkProfile == null || sparkProfile.isBlank()) {
        throw new DataPrepException("--spark-profile must not be blank");
      }
      String in = Objects.requireNonNull(input).replaceAll("/+$", "");
      String out = output.replaceAll("/+$", "");
      if (!in.isEmpty() && (out.equals(in) || out.startsWith(in + "/") || in.startsWith(out + "/"))) {
        throw new DataPrepException("--output '" + output + "' must not be, contain or lie inside --input '"
            + input + "'");
      }
      return new PrepOptions(this);
    }
  }
}
