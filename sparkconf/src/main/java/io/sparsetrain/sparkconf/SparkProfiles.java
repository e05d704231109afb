package io.sparsetrain.sparkconf;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;

/**
 * Loads the named Spark profiles ({@code local}, {@code embedded-cluster}, {@code standalone},
 * {@code yarn}, {@code kubernetes}) from {@code io/sparsetrain/sparkconf/sparkconf.conf} and the JVM
 * flags from {@code jvm.properties} beside it: the one source of truth for Spark settings.
 */
public final class SparkProfiles {
  public static final String RESOURCE_DIR = "io/sparsetrain/sparkconf/";
  public static final String CONF_RESOURCE = RESOURCE_DIR + "sparkconf.conf";
  public static final String JVM_RESOURCE = RESOURCE_DIR + "jvm.properties";
  /** Settings added to every extraJavaOptions besides the JVM flags: keep ND4J's natives cache out of ~. */
  static final String DRIVER_OPTS = "spark.driver.extraJavaOptions";
  static final String EXECUTOR_OPTS = "spark.executor.extraJavaOptions";

  private SparkProfiles() {}

  /** The built-in profile of that name. */
  public static SparkProfile load(String name) {
    return load(name, ConfigFactory.empty());
  }

  /** The profile of that name, with a user's HOCON file on top of the built-in settings. */
  public static SparkProfile load(String name, File userFile) {
    if (!userFile.isFile()) {
      throw new IllegalArgumentException("sparkconf file not found: " + userFile.getAbsolutePath());
    }
    return load(name, ConfigFactory.parseFile(userFile));
  }

  /** The profile of that name, with {@code overrides} (same layout as sparkconf.conf) on top. */
  public static SparkProfile load(String name, Config overrides) {
    Config root = overrides.withFallback(builtIn()).resolve();
    Config profiles = root.getConfig("sparkconf.profiles");
    if (name == null || !profiles.root().containsKey(name)) {
      throw new IllegalArgumentException("unknown Spark profile '" + name + "'; known profiles: "
          + new TreeSet<>(profiles.root().keySet()));
    }
    Config profile = profiles.getConfig(quote(name));
    String master = profile.hasPath("master") ? profile.getString("master") : null;

    Map<String, String> conf = new LinkedHashMap<>();
    putFlat(conf, root.getObject("sparkconf.common"), "sparkconf.common");
    if (profile.hasPath("conf")) {
      putFlat(conf, profile.getObject("conf"), "sparkconf.profiles." + name + ".conf");
    }
    List<String> jvm = jvmFlags();
    String jvmLine = String.join(" ", jvm);
    conf.merge(DRIVER_OPTS, jvmLine, (user, flags) -> flags + " " + user);
    conf.merge(EXECUTOR_OPTS, jvmLine, (user, flags) -> flags + " " + user);

    Map<String, String> cluster = new LinkedHashMap<>();
    if (profile.hasPath("cluster")) {
      putFlat(cluster, profile.getObject("cluster"), "sparkconf.profiles." + name + ".cluster");
    }
    return new SparkProfile(name, master, conf, jvm, cluster);
  }

  /** Names of all profiles, sorted. */
  public static List<String> names() {
    return new ArrayList<>(new TreeSet<>(builtIn().resolve().getObject("sparkconf.profiles").keySet()));
  }

  /**
   * Hadoop keys (without the {@code spark.hadoop.} prefix) for a path-style, plain-http S3-compatible
   * endpoint such as s3rver or MinIO, with fail-fast retries. Credentials are not included.
   */
  public static Map<String, String> s3aCompatibleEndpoint(String endpointUrl) {
    if (endpointUrl == null || !endpointUrl.matches("https?://[^/\\s]+/?")) {
      throw new IllegalArgumentException(
          "s3a endpoint must look like http://host:port, got '" + endpointUrl + "'");
    }
    Map<String, String> out = new LinkedHashMap<>();
    out.put("fs.s3a.endpoint", endpointUrl);
    putFlat(out, builtIn().resolve().getObject("sparkconf.s3a-compatible-endpoint"),
        "sparkconf.s3a-compatible-endpoint");
    if (endpointUrl.startsWith("https")) {
      out.put("fs.s3a.connection.ssl.enabled", "true");
    }
    return out;
  }

  /** The JVM flags from jvm.properties, in order. */
  public static List<String> jvmFlags() {
    Properties p = new Properties();
    try (InputStream in = SparkProfiles.class.getClassLoader().getResourceAsStream(JVM_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("missing classpath resource " + JVM_RESOURCE);
      }
      p.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + JVM_RESOURCE, e);
    }
    String flags = p.getProperty("jvm.flags");
    if (flags == null || flags.isBlank()) {
      throw new IllegalStateException(JVM_RESOURCE + " has no jvm.flags");
    }
    return Arrays.asList(flags.trim().split("\\s+"));
  }

  private static Config builtIn() {
    return ConfigFactory.parseResources(SparkProfiles.class.getClassLoader(), CONF_RESOURCE);
  }

  private static void putFlat(Map<String, String> out, ConfigObject object, String where) {
    for (Map.Entry<String, ConfigValue> e : object.entrySet()) {
      ConfigValue v = e.getValue();
      if (v.valueType() == ConfigValueType.OBJECT || v.valueType() == ConfigValueType.LIST
          || v.valueType() == ConfigValueType.NULL) {
        throw new ConfigException.WrongType(v.origin(), where + ".\"" + e.getKey() + "\"",
            "a string or number (quote dotted Spark keys)", v.valueType().name());
      }
      out.put(e.getKey(), String.valueOf(v.unwrapped()));
    }
  }

  private static String quote(String key) {
    return "\"" + key + "\"";
  }
}
