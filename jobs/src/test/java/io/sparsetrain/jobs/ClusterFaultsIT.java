package io.sparsetrain.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults on the real embedded cluster (a master and two worker JVMs started by run-cluster.sh on free ports), with
 * the tiny-test recipe on the first 512 training / 256 test images of the real Fashion-MNIST (prepared by
 * {@code run-cluster.sh --job prep} on the same cluster): 4 epochs of 8 averaging rounds, dense in epoch 1, combined
 * pruning to 50% in epochs 2-3, frozen masks in epoch 4.
 * <ul>
 *   <li>an executor JVM killed with SIGKILL mid-epoch: Spark's retry finishes the job correctly;</li>
 *   <li>the driver (the spark-submit JVM) killed with SIGKILL after an epoch checkpoint: {@code --resume} finishes
 *   it.</li>
 * </ul>
 * Both end bit-identical to an uninterrupted reference run of the same recipe and seed (run once, before the
 * tests): averaging rounds do not depend on where or in which order their tasks run (Dl4jParameterAveragingTrainer).
 */
class ClusterFaultsIT {
  static final Path TINY = ClusterScript.ROOT.resolve("jobs/src/main/resources/recipes/tiny-test.conf");
  static final Duration RUN = Duration.ofMinutes(6);
  static final Pattern ROUND = Pattern.compile("^epoch (\\d)/4 step (\\d+) round (\\d)/8 loss .*");
  static final ObjectMapper JSON = new ObjectMapper();
  static final String REFERENCE = "reference";

  @TempDir
  static Path tmp;
  static ClusterScript cluster;

  @BeforeAll
  static void startClusterAndPrepareFashionMnist() throws Exception {
    cluster = ClusterScript.onFreePorts(tmp.resolve("out"));
    ClusterScript.Running.Result start = cluster.run(Duration.ofMinutes(3), "start");
    assertEquals(0, start.exit(), start.output());
    assertTrue(start.output().contains("cluster up: master + 2 worker JVM(s)"), start.output());
    ClusterScript.Running.Result prep = cluster.run(Duration.ofMinutes(5), "--job", "prep");
    assertEquals(0, prep.exit(), prep.output());
    assertTrue(prep.output().contains("using the embedded cluster already running at spark://127.0.0.1:"
        + cluster.masterPort), "jobs are submitted to the started cluster: " + prep.output());
    assertTrue(Files.exists(cluster.out.resolve("fashion-mnist/manifest.json")), prep.output());
    // the uninterrupted reference run both tests compare with
    ClusterScript.Running.Result ref = cluster.run(RUN, "--job", "train", "--recipe", recipe(REFERENCE).toString());
    assertEquals(0, ref.exit(), ref.output());
    assertEquals(32, assertEveryRoundPassedTheMaskChecks(ref.output()));
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (cluster != null) {
      ClusterScript.Running.Result stop = cluster.run(Duration.ofMinutes(2), "stop");
      assertEquals(0, stop.exit(), stop.output());
      assertTrue(cluster.workerPids().isEmpty(), "pid files removed");
      assertTrue(ClusterScript.free(cluster.masterPort), "the master's port is free again");
    }
  }

  /** The tiny-test recipe on the first 512 / 256 images, as a recipe file whose name names the run's output. */
  static Path recipe(String name) throws IOException {
    Path dir = tmp.resolve("recipes");
    Files.createDirectories(dir);
    Path p = dir.resolve(name + ".conf");
    Files.writeString(p, Files.readString(TINY)
        + "\ntrain { data { max-train-examples = 512, max-test-examples = 256 } }\n");
    return p;
  }

  static Path runDir(String name) {
    return cluster.out.resolve("train").resolve(name);
  }

  static JsonNode json(Path p) throws IOException {
    return JSON.readTree(p.toFile());
  }

  /** The state.json of the run's LATEST checkpoint. */
  static JsonNode latestState(String name) throws IOException {
    Path cps = runDir(name).resolve("checkpoints");
    return json(cps.resolve(Files.readString(cps.resolve("LATEST")).trim()).resolve("state.json"));
  }

  /** The bytes of one entry of the DL4J model zip of the run's LATEST checkpoint (coefficients, updater state). */
  static byte[] latestModelEntry(String name, String entry) throws IOException {
    Path cps = runDir(name).resolve("checkpoints");
    Path zip = cps.resolve(Files.readString(cps.resolve("LATEST")).trim()).resolve("model.zip");
    try (ZipFile z = new ZipFile(zip.toFile())) {
      ZipEntry e = z.getEntry(entry);
      assertTrue(e != null, zip + " has no " + entry);
      try (InputStream in = z.getInputStream(e)) {
        return in.readAllBytes();
      }
    }
  }

  /** Every averaging round printed 'mask checks passed on 2 worker(s)'; returns the number of round lines. */
  static int assertEveryRoundPassedTheMaskChecks(String output) {
    int rounds = 0;
    for (String line : output.lines().toList()) {
      if (ROUND.matcher(line).matches()) {
        rounds++;
        assertTrue(line.endsWith("mask checks passed on 2 worker(s)"), "round without both workers' checks: " + line);
      }
    }
    assertFalse(output.contains("mask checksum mismatch"), output);
    return rounds;
  }

  /** Final sparsity at the target, masks frozen, per-epoch mask checks, as metrics.json and the checkpoint say. */
  static JsonNode assertFinishedWithFrozenMasksAtTarget(String name) throws IOException {
    JsonNode metrics = json(runDir(name).resolve("metrics.json"));
    JsonNode fin = metrics.get("final");
    assertEquals(4, fin.get("epochs").asInt());
    assertEquals(32, fin.get("steps").asInt());
    assertEquals(0.5, fin.get("targetSparsity").asDouble(), 1e-12);
    assertEquals(0.5, fin.get("globalSparsity").asDouble(), 0.001, "global sparsity at the target");
    JsonNode last = metrics.get("epochs").get(metrics.get("epochs").size() - 1);
    assertEquals("frozen", last.get("phase").asText());
    JsonNode state = latestState(name);
    assertTrue(state.get("frozen").asBoolean(), "masks frozen in the last checkpoint: " + state);
    assertEquals(32, state.get("step").asLong());
    assertEquals(4, state.get("epoch").asInt());
    return metrics;
  }

  @Test
  void executorKilledMidEpochIsReplacedAndTheJobFinishesCorrectly() throws Exception {
    String name = "executor-kill";
    ClusterScript.Running run = cluster.start("--job", "train", "--recipe", recipe(name).toString());
    // mid-epoch 2 (pruning era): kill one worker's executor JVM
    run.awaitLine(l -> l.startsWith("epoch 2/4 step 10 round 2/8"), RUN, "round 2 of epoch 2");
    List<ProcessHandle> before = cluster.executors();
    assertEquals(2, before.size(), "one executor per worker JVM: " + before);
    ProcessHandle victim = before.get(0);
    long victimPid = victim.pid();
    assertTrue(victim.destroyForcibly(), "SIGKILL sent to executor " + victimPid);
    assertTrue(victim.onExit().get(30, TimeUnit.SECONDS) != null);
    assertFalse(victim.isAlive());

    ClusterScript.Running.Result r = run.await(RUN);
    assertEquals(0, r.exit(), r.output());
    String out = r.output();

    // the kill happened mid-run: the driver lost that executor, its worker started a new one, rounds went on
    assertTrue(out.contains("Lost executor"), "the driver log shows the lost executor:\n" + out);
    String workerLogs = Files.readString(cluster.out.resolve("cluster/logs/worker-1.log"))
        + Files.readString(cluster.out.resolve("cluster/logs/worker-2.log"));
    Matcher exited = Pattern.compile("Executor (app-[0-9-]+)/(\\d+) finished with state (EXITED|FAILED) message "
        + "Command exited with code 137").matcher(workerLogs);
    assertTrue(exited.find(), "a worker saw its executor die of SIGKILL:\n" + workerLogs);
    String app = exited.group(1);
    int lostId = Integer.parseInt(exited.group(2));
    Matcher launched = Pattern.compile("Asked to launch executor " + Pattern.quote(app) + "/(\\d+)").matcher(workerLogs);
    int executorsLaunched = 0;
    boolean replaced = false;
    while (launched.find()) {
      executorsLaunched++;
      replaced |= Integer.parseInt(launched.group(1)) > lostId;
    }
    assertTrue(replaced && executorsLaunched >= 3, "the worker launched a replacement executor for " + app
        + " (executors launched: " + executorsLaunched + "):\n" + workerLogs);
    int killLine = out.indexOf("epoch 2/4 step 10 round 2/8");
    assertTrue(out.indexOf("epoch 4/4 done", killLine) > killLine, "training went on after the kill");

    // and it finished correctly through Spark's retry
    assertEquals(32, assertEveryRoundPassedTheMaskChecks(out), "every averaging round ran exactly once");
    JsonNode metrics = assertFinishedWithFrozenMasksAtTarget(name);
    for (JsonNode e : metrics.get("epochs")) {
      assertEquals(16, e.get("workerMaskChecks").asLong(), "8 rounds x 2 workers checked the masks: " + e);
    }
    assertTrue(out.contains("FROZEN masks"), out);
    assertTrue(out.contains("global sparsity 0.5000 (target 0.5000)"), "run-cluster.sh's summary: " + out);
    assertTrue(Pattern.compile("training images/s: dense \\d+\\.\\d, pruning era \\d+\\.\\d, frozen sparse \\d+\\.\\d\n")
        .matcher(out).find(), "run-cluster.sh's summary gives images/s of all three phases: " + out);
    assertTrue(out.contains("report  " + runDir(name).resolve("report.html")), out);
    assertFalse(cluster.executors().stream().anyMatch(h -> h.pid() == victimPid));
    // the retried tasks recomputed exactly what the lost ones would have: the uninterrupted run's result
    assertSameResultAsTheReference(name);
  }

  /** Same final masks, schedule position, parameters, optimizer state, losses and accuracies as the reference. */
  static void assertSameResultAsTheReference(String name) throws IOException {
    JsonNode a = assertFinishedWithFrozenMasksAtTarget(REFERENCE);
    JsonNode b = assertFinishedWithFrozenMasksAtTarget(name);
    JsonNode sa = latestState(REFERENCE);
    JsonNode sb = latestState(name);
    assertEquals(sa.get("maskChecksum").asText(), sb.get("maskChecksum").asText(), "final masks");
    assertEquals(sa.get("step").asLong(), sb.get("step").asLong());
    assertEquals(sa.get("epoch").asInt(), sb.get("epoch").asInt());
    assertEquals(sa.get("scheduledSparsity").asDouble(), sb.get("scheduledSparsity").asDouble());
    assertArrayEquals(latestModelEntry(REFERENCE, "coefficients.bin"), latestModelEntry(name, "coefficients.bin"),
        "final parameters");
    assertArrayEquals(latestModelEntry(REFERENCE, "updaterState.bin"), latestModelEntry(name, "updaterState.bin"),
        "final optimizer state");
    for (String k : List.of("testTop1", "testTop5", "trainLoss", "globalSparsity")) {
      assertEquals(a.get("final").get(k).asDouble(), b.get("final").get(k).asDouble(), 0.0, k);
    }
    for (int e = 0; e < 4; e++) {
      for (String k : List.of("testTop1", "trainLoss", "achievedSparsity")) {
        assertEquals(a.get("epochs").get(e).get(k).asDouble(), b.get("epochs").get(e).get(k).asDouble(), 0.0,
            "epoch " + (e + 1) + " " + k);
      }
    }
  }

  @Test
  void driverKilledAfterAnEpochCheckpointResumesToTheSameResultAsAnUninterruptedRun() throws Exception {
    // the reference's recipe and seed, its driver killed in epoch 3 (after the epoch-2 checkpoint, mid pruning era)
    String name = "driver-kill";
    Path conf = recipe(name);
    ClusterScript.Running run = cluster.start("--job", "train", "--recipe", conf.toString());
    run.awaitLine(l -> l.startsWith("epoch 3/4 step 18 round 2/8"), RUN, "round 2 of epoch 3");
    assertEquals("epoch-0001", Files.readString(runDir(name).resolve("checkpoints/LATEST")).trim());
    ProcessHandle driver = run.driver();
    assertTrue(driver.destroyForcibly(), "SIGKILL sent to the driver " + driver.pid());
    ClusterScript.Running.Result killed = run.await(RUN);
    assertNotEquals(0, killed.exit(), killed.output());
    assertFalse(killed.output().contains("epoch 3/4 done"), killed.output());
    assertFalse(Files.exists(runDir(name).resolve("metrics.json")), "a killed run wrote no final report");
    assertEquals(2, cluster.workerPids().size(), "the started cluster outlives the killed driver");

    // --resume continues from the epoch-2 checkpoint and finishes
    ClusterScript.Running.Result resumed = cluster.run(RUN, "--job", "train", "--recipe", conf.toString(),
        "--", "--resume");
    assertEquals(0, resumed.exit(), resumed.output());
    assertTrue(resumed.output().contains("resuming from epoch-0001: epoch 3, round 0, step 16, masks "),
        resumed.output());
    assertEquals(16, assertEveryRoundPassedTheMaskChecks(resumed.output()), "only epochs 3 and 4 ran again");

    // same schedule position, masks, parameters, optimizer state, losses and accuracies as the uninterrupted run
    assertSameResultAsTheReference(name);
  }
}
