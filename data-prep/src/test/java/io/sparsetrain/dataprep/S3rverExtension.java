package io.sparsetrain.dataprep;

import io.sparsetrain.sparkconf.SparkProfiles;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Starts s3rver 3.7.1 (npm, from tools/s3rver; {@code npm ci} there first if node_modules is missing) on
 * 127.0.0.1 at a free port with one bucket, points the shared SparkSession's Hadoop configuration at it
 * (sparkconf's {@code SparkProfiles.s3aCompatibleEndpoint} + the S3RVER credentials) and undoes all of that
 * after the test class. s3rver accepts only the access key S3RVER; SigV2 ({@code S3SignerType}) with
 * {@code --allow-mismatched-signatures} avoids the aws-chunked SigV4 bodies it would store verbatim.
 */
public final class S3rverExtension implements BeforeAllCallback, AfterAllCallback {
  public static final String BUCKET = "sparsetrain-test";
  /** s3rver's built-in account; the test checks that it never reaches logs or manifests. */
  public static final String ACCESS_KEY = "S3RVER";
  public static final String SECRET_KEY = "S3RVER";

  private static String endpoint;
  private Process process;
  private Path dataDir;
  private Path log;
  private final Map<String, String> saved = new HashMap<>();

  /** http://127.0.0.1:port of the running server. */
  public static String endpoint() {
    return endpoint;
  }

  public static String bucketUri(String key) {
    return "s3a://" + BUCKET + "/" + key;
  }

  /**
   * Puts an empty directory-marker object {@code key/}. Needed on s3rver only: its delimiter listing finds
   * common prefixes only one level deep, so a directory holding nothing but sub-directories (a split folder of
   * an uploaded class-folder tree) is invisible to S3A's listStatus unless it has a marker. Real S3 needs none.
   */
  public static void putDirectoryMarker(String key) {
    com.amazonaws.services.s3.AmazonS3 client = com.amazonaws.services.s3.AmazonS3ClientBuilder.standard()
        .withEndpointConfiguration(new com.amazonaws.client.builder.AwsClientBuilder.EndpointConfiguration(
            endpoint, "us-east-1"))
        .withPathStyleAccessEnabled(true)
        .withClientConfiguration(new com.amazonaws.ClientConfiguration().withSignerOverride("S3SignerType"))
        .withCredentials(new com.amazonaws.auth.AWSStaticCredentialsProvider(
            new com.amazonaws.auth.BasicAWSCredentials(ACCESS_KEY, SECRET_KEY)))
        .build();
    try {
      client.putObject(BUCKET, key.endsWith("/") ? key : key + "/", "");
    } finally {
      client.shutdown();
    }
  }

  static Path toolDir() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      Path candidate = p.resolve("tools/s3rver/package.json");
      if (Files.exists(candidate)) {
        return candidate.getParent();
      }
    }
    throw new IllegalStateException("tools/s3rver/package.json not found above " + Path.of("").toAbsolutePath());
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    Path tool = toolDir();
    if (!Files.exists(tool.resolve("node_modules/.bin/s3rver"))) {
      Process npm = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund").directory(tool.toFile())
          .redirectErrorStream(true).redirectOutput(tool.resolve("npm-ci.log").toFile()).start();
      if (!npm.waitFor(5, TimeUnit.MINUTES) || npm.exitValue() != 0) {
        npm.destroyForcibly();
        throw new IllegalStateException("npm ci in " + tool + " failed; see " + tool.resolve("npm-ci.log"));
      }
    }
    dataDir = Files.createTempDirectory("s3rver-data");
    log = Files.createTempFile("s3rver", ".log");
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    process = new ProcessBuilder(List.of("node", "--openssl-legacy-provider",
        tool.resolve("node_modules/.bin/s3rver").toString(), "-d", dataDir.toString(), "-a", "127.0.0.1",
        "-p", Integer.toString(port), "--no-vhost-buckets", "--allow-mismatched-signatures",
        "--configure-bucket", BUCKET))
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      if (!process.isAlive()) {
        throw new IllegalStateException("s3rver exited with " + process.exitValue() + ": "
            + Files.readString(log));
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        if (Files.readString(log).contains("listening")) {
          break;
        }
      } catch (IOException notYet) {
        // not listening yet
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("s3rver did not listen on 127.0.0.1:" + port + " within 30 s: "
            + Files.readString(log));
      }
      Thread.sleep(100);
    }
    endpoint = "http://127.0.0.1:" + port;
    Map<String, String> keys = new LinkedHashMap<>(SparkProfiles.s3aCompatibleEndpoint(endpoint));
    keys.put("fs.s3a.access.key", ACCESS_KEY);
    keys.put("fs.s3a.secret.key", SECRET_KEY);
    Configuration conf = Fixtures.conf();
    for (Map.Entry<String, String> e : keys.entrySet()) {
      saved.put(e.getKey(), conf.get(e.getKey()));
      conf.set(e.getKey(), e.getValue());
    }
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    Configuration conf = Fixtures.conf();
    try {
      FileSystem.get(new URI("s3a://" + BUCKET + "/"), conf).close(); // drop the cached client for this endpoint
    } catch (IOException | RuntimeException e) {
      // best effort
    }
    for (Map.Entry<String, String> e : saved.entrySet()) {
      if (e.getValue() == null) {
        conf.unset(e.getKey());
      } else {
        conf.set(e.getKey(), e.getValue());
      }
    }
    if (process != null) {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
    if (dataDir != null) {
      try (var walk = Files.walk(dataDir)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
      Files.deleteIfExists(log);
    }
    endpoint = null;
  }
}
