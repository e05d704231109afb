package io.sparsetrain.sparkconf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;

/**
 * The one local SparkSession shared by every Spark test in a JVM (as Spark's own SharedSparkSession):
 * profile {@code local} from sparkconf, created on first use, stopped when the JVM exits.
 * Tests that change the Hadoop configuration (s3a endpoints) must restore what they changed.
 */
public final class SharedSparkSession {
  private static SparkSession session;

  private SharedSparkSession() {}

  public static synchronized SparkSession session() {
    if (session == null) {
      Path scratch;
      try {
        scratch = Files.createTempDirectory("sparsetrain-spark-test");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      session = SparkSessions.builder(SparkProfiles.load("local"), "sparsetrain-tests")
          .config("spark.local.dir", scratch.resolve("local").toString())
          .config("spark.sql.warehouse.dir", scratch.resolve("warehouse").toString())
          .getOrCreate();
      Runtime.getRuntime().addShutdownHook(new Thread(() -> session.stop(), "stop-shared-spark"));
    }
    return session;
  }
}
