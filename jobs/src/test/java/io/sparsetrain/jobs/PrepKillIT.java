package io.sparsetrain.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.dataprep.DataPrepException;
import io.sparsetrain.dataprep.Manifest;
import io.sparsetrain.sparkconf.SparkProfiles;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A prep job killed with SIGKILL mid-conversion (a real JVM running the application jar on the real
 * Fashion-MNIST files): it leaves no dataset that looks finished, a dataset it was replacing stays intact,
 * and a re-run publishes a complete dataset.
 */
class PrepKillIT {
  static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  static final String FASHION = "/usr/share/datasets/fashion-mnist";

  static List<String> prepCommand(Path output, String... extra) {
    Path sparkHome = ROOT.resolve("sparkconf/target/spark-home");
    Path appJar = System.getenv("SPARSETRAIN_APP_JAR") != null ? Path.of(System.getenv("SPARSETRAIN_APP_JAR"))
        : ROOT.resolve("jobs/target/jobs-0.1.0-SNAPSHOT-app.jar");
    assertTrue(Files.isRegularFile(appJar), "package the jobs module first: " + appJar);
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx2g"));
    cmd.addAll(SparkProfiles.jvmFlags());
    cmd.addAll(List.of("-cp", sparkHome.resolve("conf") + ":" + sparkHome.resolve("jars") + "/*:" + appJar,
        "io.sparsetrain.jobs.Main", "prep", "--format", "idx", "--preset", "fashion-mnist", "--input", FASHION,
        "--output", output.toString(), "--shards", "4"));
    cmd.addAll(List.of(extra));
    return cmd;
  }

  /** Starts prep and kills it (SIGKILL) as soon as it says it is converting the train split. */
  static String runAndKillDuringTrain(Path output, String... extra) throws Exception {
    Process p = new ProcessBuilder(prepCommand(output, extra)).redirectErrorStream(true).start();
    StringBuilder seen = new StringBuilder();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        seen.append(line).append('\n');
        if (line.contains("[prep] split train: converting")) {
          p.destroyForcibly();
          break;
        }
      }
    }
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertTrue(seen.toString().contains("[prep] split train: converting"), "never reached the train split:\n" + seen);
    assertEquals(137, p.exitValue(), "killed by SIGKILL:\n" + seen);
    return seen.toString();
  }

  static String runToCompletion(Path output, String... extra) throws Exception {
    Process p = new ProcessBuilder(prepCommand(output, extra)).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(5, TimeUnit.MINUTES));
    assertEquals(0, p.exitValue(), out);
    return out;
  }

  static List<Path> hiddenTemporaries(Path output) throws Exception {
    try (Stream<Path> s = Files.list(output.getParent())) {
      return s.filter(f -> f.getFileName().toString().startsWith("." + output.getFileName() + ".tmp-")).toList();
    }
  }

  @Test
  void killedFirstRunLeavesNothingThatLooksFinishedAndARerunCompletes(@TempDir Path dir) throws Exception {
    Path output = dir.resolve("fashion-mnist");
    runAndKillDuringTrain(output, "--seed", "42");
    assertFalse(Files.exists(output), "a killed run must not publish " + output);
    assertEquals(1, hiddenTemporaries(output).size(), "its work stays in one hidden temporary directory");
    DataPrepException notADataset = assertThrows(DataPrepException.class,
        () -> Manifest.read(output.toString(), new Configuration()));
    assertTrue(notADataset.getMessage().contains(output.getFileName().toString()), notADataset.getMessage());

    String rerun = runToCompletion(output, "--seed", "42");
    assertTrue(rerun.contains("temporary directory of an interrupted run"), "the re-run reports the leftover:\n" + rerun);
    Manifest m = Manifest.read(output.toString(), new Configuration());
    assertEquals(60000, m.split("train").rows);
    assertEquals(10000, m.split("test").rows);
  }

  @Test
  void killedOverwriteKeepsTheDatasetItWasReplacing(@TempDir Path dir) throws Exception {
    Path output = dir.resolve("fashion-mnist");
    runToCompletion(output, "--seed", "42");
    String before = Files.readString(output.resolve("manifest.json"));

    runAndKillDuringTrain(output, "--overwrite", "--seed", "7");
    assertEquals(before, Files.readString(output.resolve("manifest.json")), "the old dataset must stay intact");
    Manifest m = Manifest.read(output.toString(), new Configuration());
    assertEquals(60000, m.split("train").rows);

    runToCompletion(output, "--overwrite", "--seed", "7");
    assertTrue(hiddenTemporaries(output).isEmpty(), "--overwrite removes the leftover temporary directory");
    assertFalse(before.equals(Files.readString(output.resolve("manifest.json"))), "the new dataset replaced the old");
  }
}
