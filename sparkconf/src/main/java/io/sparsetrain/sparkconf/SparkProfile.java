package io.sparsetrain.sparkconf;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One named set of Spark settings: an optional master URL, the Spark conf (common settings with the
 * profile's on top, JVM flags already merged into the driver/executor extraJavaOptions), the JVM flags
 * themselves, and for {@code embedded-cluster} the layout of the local standalone cluster.
 * Immutable; obtain it from {@link SparkProfiles#load(String)}.
 */
public final class SparkProfile {
  private final String name;
  private final String master;
  private final Map<String, String> conf;
  private final List<String> jvmFlags;
  private final Map<String, String> cluster;

  SparkProfile(String name, String master, Map<String, String> conf, List<String> jvmFlags,
      Map<String, String> cluster) {
    this.name = name;
    this.master = master;
    this.conf = Collections.unmodifiableMap(new LinkedHashMap<>(conf));
    this.jvmFlags = List.copyOf(jvmFlags);
    this.cluster = Collections.unmodifiableMap(new LinkedHashMap<>(cluster));
  }

  public String name() {
    return name;
  }

  /** The profile's master URL, absent for profiles where the user must give it (standalone, kubernetes). */
  public Optional<String> master() {
    return Optional.ofNullable(master);
  }

  /** Spark conf keys and values, in file order (common first). */
  public Map<String, String> conf() {
    return conf;
  }

  /** Hadoop configuration keys carried by this profile ({@code spark.hadoop.*} without the prefix). */
  public Map<String, String> hadoopConf() {
    Map<String, String> out = new LinkedHashMap<>();
    conf.forEach((k, v) -> {
      if (k.startsWith("spark.hadoop.")) {
        out.put(k.substring("spark.hadoop.".length()), v);
      }
    });
    return out;
  }

  /** The JVM flags every Spark JVM needs on Java 17 (from jvm.properties). */
  public List<String> jvmFlags() {
    return jvmFlags;
  }

  /** Layout of the embedded standalone cluster (empty for other profiles): workers, worker-cores, ... */
  public Map<String, String> cluster() {
    return cluster;
  }

  /**
   * The spark-submit arguments for this profile: {@code --master URL} (when known, or {@code masterOverride}
   * when given) then one {@code --conf key=value} per setting.
   */
  public List<String> submitArgs(String masterOverride) {
    List<String> args = new ArrayList<>();
    String m = masterOverride != null ? masterOverride : master;
    if (m != null) {
      args.add("--master");
      args.add(m);
    }
    conf.forEach((k, v) -> {
      args.add("--conf");
      args.add(k + "=" + v);
    });
    return args;
  }

  /** Every setting, one per line, for the job log. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("SparkProfile[").append(name).append("]\n");
    sb.append("  master = ").append(master == null ? "(given at submit time)" : master).append('\n');
    cluster.forEach((k, v) -> sb.append("  cluster.").append(k).append(" = ").append(v).append('\n'));
    conf.forEach((k, v) -> sb.append("  ").append(k).append(" = ").append(v).append('\n'));
    return sb.toString();
  }
}
