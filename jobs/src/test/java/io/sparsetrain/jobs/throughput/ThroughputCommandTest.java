package io.sparsetrain.jobs.throughput;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparsetrain.dataprep.InputFormat;
import io.sparsetrain.dataprep.PrepJob;
import io.sparsetrain.dataprep.PrepOptions;
import io.sparsetrain.dataprep.Preset;
import io.sparsetrain.sparkconf.SharedSparkSession;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The throughput job end to end in local mode on real Fashion-MNIST images (the first 320 training and 64 test
 * images, prepared by the real prep job), with the tiny-test recipe: every phase at 1 and 2 workers, one warm-up
 * and two measured rounds each. Checks the table's structure, that every number is positive, what the workers
 * enforced (masks checked, 2:4 layers compressed, 70% combined sparsity) and the JSON file. No timing asserted.
 */
class ThroughputCommandTest {
  static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");

  @TempDir
  static Path tmp;
  static Path dataset;

  @BeforeAll
  static void prepareSubset() throws IOException {
    Path idx = tmp.resolve("idx");
    Files.createDirectories(idx);
    copyIdxPrefix("train", 320, idx);
    copyIdxPrefix("t10k", 64, idx);
    dataset = tmp.resolve("fashion-mnist-subset");
    PrepJob.run(SharedSparkSession.session(), PrepOptions.builder().format(InputFormat.IDX).input(idx.toString())
        .output(dataset.toString()).shards(2).preset(Preset.FASHION_MNIST).build(), line -> { });
  }

  /** Writes the first {@code n} images and labels of a Fashion-MNIST split as uncompressed IDX files. */
  static void copyIdxPrefix(String prefix, int n, Path dir) throws IOException {
    try (DataInputStream in = gz(prefix + "-images-idx3-ubyte.gz");
        DataOutputStream out = new DataOutputStream(Files.newOutputStream(dir.resolve(prefix + "-images-idx3-ubyte")))) {
      assertEquals(0x803, in.readInt());
      in.readInt();
      int rows = in.readInt();
      int cols = in.readInt();
      out.writeInt(0x803);
      out.writeInt(n);
      out.writeInt(rows);
      out.writeInt(cols);
      out.write(in.readNBytes(n * rows * cols));
    }
    try (DataInputStream in = gz(prefix + "-labels-idx1-ubyte.gz");
        DataOutputStream out = new DataOutputStream(Files.newOutputStream(dir.resolve(prefix + "-labels-idx1-ubyte")))) {
      assertEquals(0x801, in.readInt());
      in.readInt();
      out.writeInt(0x801);
      out.writeInt(n);
      out.write(in.readNBytes(n));
    }
  }

  private static DataInputStream gz(String name) throws IOException {
    Path p = FASHION.resolve(name);
    assertTrue(Files.isRegularFile(p), "Fashion-MNIST is missing (apt-get install dataset-fashion-mnist): " + p);
    InputStream in = new GZIPInputStream(Files.newInputStream(p));
    return new DataInputStream(in);
  }

  /** Runs the command as Main does; returns {exit code, stdout, stderr}. */
  static String[] run(String... args) {
    ThroughputCommand cmd = new ThroughputCommand();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    cmd.out = new PrintStream(out, true, StandardCharsets.UTF_8);
    CommandLine cli = new CommandLine(cmd);
    StringWriter err = new StringWriter();
    cli.setErr(new PrintWriter(err, true));
    cli.setExecutionExceptionHandler((ex, c, parsed) -> {
      c.getErr().println("sparsetrain throughput: " + ex.getMessage());
      return 1;
    });
    int code = cli.execute(args);
    return new String[] {Integer.toString(code), out.toString(StandardCharsets.UTF_8), err.toString()};
  }

  static final String NUM = "([0-9]+\\.[0-9]+)";
  static final Pattern ROW = Pattern.compile("^(dense|frozen 2:4 \\(compressed\\)|frozen combined 70%) +(\\d+) +(\\d+) +(\\d+) +"
      + NUM + " +" + NUM + " +([0-9.]+x) +([0-9.]+x) +" + NUM + " / (\\d+)$");

  @Test
  void tinyRunPrintsEveryPhaseAtOneAndTwoWorkersWithPositiveNumbersAndWritesTheJson() throws Exception {
    Path json = tmp.resolve("reports/throughput.json");
    String[] r = run("--config", "src/main/resources/recipes/tiny-test.conf",
        "--set", "data.path=\"" + dataset + "\"", "--set", "output.dir=\"" + tmp.resolve("out") + "\"",
        "--workers", "1,2", "--warmup-rounds", "1", "--rounds", "2", "--json", json.toString(),
        "--spark-profile", "local");
    System.out.println(r[1]);
    assertEquals("0", r[0], r[2] + r[1]);
    String out = r[1];

    // the table: header, rule, then one row per (phase, workers) in measuring order
    List<String> lines = out.lines().toList();
    int header = -1;
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).startsWith("phase ")) {
        header = i;
      }
    }
    assertTrue(header > 0, out);
    for (String col : List.of("workers", "images/round", "rounds", "min img/s", "median img/s", "vs 1 wkr",
        "vs dense")) {
      assertTrue(lines.get(header).contains(col), "column " + col + ": " + lines.get(header));
    }
    assertTrue(lines.get(header + 1).matches("-+"), lines.get(header + 1));
    String[][] expected = {{"dense", "1"}, {"dense", "2"}, {"frozen 2:4 (compressed)", "1"},
        {"frozen 2:4 (compressed)", "2"}, {"frozen combined 70%", "1"}, {"frozen combined 70%", "2"}};
    for (int i = 0; i < expected.length; i++) {
      String row = lines.get(header + 2 + i);
      Matcher m = ROW.matcher(row);
      assertTrue(m.matches(), "row " + i + " does not match the table layout: '" + row + "'");
      assertEquals(expected[i][0], m.group(1), row);
      int workers = Integer.parseInt(m.group(2));
      assertEquals(Integer.parseInt(expected[i][1]), workers, row);
      assertEquals(workers * 2 * 16, Integer.parseInt(m.group(3)), "images/round = workers x frequency x batch");
      assertEquals(2, Integer.parseInt(m.group(4)), "measured rounds");
      double min = Double.parseDouble(m.group(5));
      double median = Double.parseDouble(m.group(6));
      assertTrue(min > 0 && median >= min, row);
      assertTrue(Double.parseDouble(m.group(7).replace("x", "")) > 0, row);
      assertTrue(Double.parseDouble(m.group(8).replace("x", "")) > 0, row);
      if (workers == 1) {
        assertEquals("1.00x", m.group(7), "a 1-worker row is its own baseline: " + row);
      }
      if (expected[i][0].equals("dense")) {
        assertEquals("1.00x", m.group(8), "a dense row is its own baseline: " + row);
      }
    }
    assertTrue(out.contains("throughput tiny-test: JSON written to " + json), out);

    // the JSON: same cases, every round's numbers, what the workers enforced
    JsonNode root = new ObjectMapper().readTree(json.toFile());
    assertEquals(ThroughputReport.FORMAT_VERSION, root.get("formatVersion").asInt());
    assertEquals("tiny-cnn", root.get("setup").get("model").asText());
    assertEquals(16, root.get("setup").get("batchSizePerWorker").asInt());
    JsonNode cases = root.get("cases");
    assertEquals(6, cases.size());
    for (JsonNode c : cases) {
      String what = c.get("phase").asText() + "/" + c.get("workers").asInt();
      assertEquals(2, c.get("roundSeconds").size(), what);
      for (JsonNode s : c.get("roundSeconds")) {
        assertTrue(s.asDouble() > 0, what);
      }
      for (JsonNode ips : c.get("imagesPerSecond")) {
        assertTrue(ips.asDouble() > 0, what);
      }
      assertTrue(c.get("medianImagesPerSecond").asDouble() >= c.get("minImagesPerSecond").asDouble(), what);
      assertEquals(2L * c.get("workers").asInt(), c.get("workerMaskChecks").asLong(),
          "every worker task of every measured round checked the driver's masks: " + what);
      switch (c.get("phase").asText()) {
        case "dense":
          assertEquals(0.0, c.get("globalSparsity").asDouble(), what);
          assertEquals(0, c.get("workerCompressedLayers").size(), what);
          break;
        case "frozen-nm":
          assertTrue(c.get("globalSparsity").asDouble() >= 0.5 - 1e-9, what + " " + c);
          assertFalse(c.get("workerCompressedLayers").isEmpty(), "2:4 layers run compressed on the workers: " + c);
          break;
        default:
          assertEquals(0.7, c.get("globalSparsity").asDouble(), 0.001, what);
          assertEquals(0, c.get("workerCompressedLayers").size(), what);
      }
    }
    try (var s = Files.list(json.getParent())) {
      assertEquals(List.of(json), s.toList(), "written under a temporary name, then renamed: no leftovers");
    }
  }

  @Test
  void badOptionsFailBeforeSparkNamingTheOption() {
    String[] unknownPhase = run("--config", "src/main/resources/recipes/tiny-test.conf", "--phases", "dense,sparse");
    assertEquals("1", unknownPhase[0]);
    assertTrue(unknownPhase[2].contains("--phases: unknown phase 'sparse', expected one of [dense, frozen-nm, "
        + "frozen-combined]"), unknownPhase[2]);
    String[] noRounds = run("--config", "src/main/resources/recipes/tiny-test.conf", "--rounds", "0");
    assertEquals("1", noRounds[0]);
    assertTrue(noRounds[2].contains("--rounds must be >= 1, got 0"), noRounds[2]);
    String[] workers = run("--config", "src/main/resources/recipes/tiny-test.conf", "--workers", "1,1");
    assertTrue(workers[2].contains("--workers must list distinct worker counts, got [1, 1]"), workers[2]);
  }
}
