package io.sparsetrain.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * run-cluster.sh for real: starts the embedded standalone cluster (a master and two workers as separate
 * JVMs from sparkconf/target/spark-home), spark-submits the application jar's smoke job through
 * org.apache.spark.deploy.SparkSubmit, checks the result, and stops the cluster. Runs after package
 * (failsafe), because it needs the application jar.
 */
class EmbeddedClusterIT {
  static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();

  record Run(int exit, String output) {}

  static Run runCluster(Path out, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("bash", ROOT.resolve("run-cluster.sh").toString(),
        "--skip-build", "--skip-install", "--out", out.toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(ROOT.toFile()).redirectErrorStream(true).start();
    byte[] bytes = p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(10, TimeUnit.MINUTES), "run-cluster.sh did not finish");
    String output = new String(bytes, StandardCharsets.UTF_8);
    System.out.println(output);
    return new Run(p.exitValue(), output);
  }

  static boolean listening(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Test
  void smokeJobRunsOnTwoWorkerJvmsAndTheClusterIsStoppedAfter(@TempDir Path out) throws Exception {
    assertFalse(listening(7077), "a Spark master already listens on 7077; stop it first");
    Run run = runCluster(out, "--job", "smoke");
    assertEquals(0, run.exit(), run.output());
    assertTrue(run.output().contains("cluster up: master + 2 worker JVM(s)"), run.output());
    assertTrue(run.output().contains("SMOKE OK sum=333333833333500000 expected=333333833333500000"), run.output());
    assertTrue(run.output().contains("executors=[0, 1] master=spark://127.0.0.1:7077"),
        "both worker JVMs must have run tasks: " + run.output());
    assertTrue(run.output().contains("cluster stopped"), run.output());
    assertFalse(listening(7077), "the master must be stopped after the job");
    try (Stream<Path> pids = Files.list(out.resolve("cluster/pids"))) {
      assertEquals(0, pids.count(), "no pid files may remain");
    }
    String masterLog = Files.readString(out.resolve("cluster/logs/master.log"));
    assertEquals(2, masterLog.split("Registering worker", -1).length - 1, masterLog);
  }

  @Test
  void badOptionsFailBeforeAnyClusterStarts(@TempDir Path out) throws Exception {
    Run badJob = runCluster(out, "--job", "nope");
    assertNotEquals(0, badJob.exit());
    assertTrue(badJob.output().contains("--job must be pipeline, train or smoke, got 'nope'"), badJob.output());

    Run badMaster = runCluster(out, "--master", "mesos://x:1", "--job", "smoke");
    assertNotEquals(0, badMaster.exit());
    assertTrue(badMaster.output().contains("--master must be spark://host:port, yarn or k8s://..., got 'mesos://x:1'"),
        badMaster.output());
    assertFalse(Files.exists(out.resolve("cluster/logs/master.log")), "no cluster may have been started");
  }
}
