package io.sparsetrain.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * run-cluster.sh for real: starts the embedded standalone cluster (a master and two workers as separate
 * JVMs from sparkconf/target/spark-home, on free ports given with --sparkconf-file), spark-submits the
 * application jar's smoke job through org.apache.spark.deploy.SparkSubmit, checks the result, and stops the
 * cluster. Runs after package (failsafe), because it needs the application jar.
 */
class EmbeddedClusterIT {
  static final Duration RUN = Duration.ofMinutes(10);

  static boolean listening(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }

  @Test
  void smokeJobRunsOnTwoWorkerJvmsAndTheClusterIsStoppedAfter(@TempDir Path out) throws Exception {
    ClusterScript cluster = ClusterScript.onFreePorts(out);
    ClusterScript.Running.Result run = cluster.run(RUN, "--job", "smoke");
    assertEquals(0, run.exit(), run.output());
    assertTrue(run.output().contains("cluster up: master + 2 worker JVM(s)"), run.output());
    assertTrue(run.output().contains("SMOKE OK sum=333333833333500000 expected=333333833333500000"), run.output());
    assertTrue(run.output().contains("executors=[0, 1] master=spark://127.0.0.1:" + cluster.masterPort),
        "both worker JVMs must have run tasks: " + run.output());
    assertTrue(run.output().contains("cluster stopped"), run.output());
    assertFalse(listening(cluster.masterPort), "the master must be stopped after the job");
    try (Stream<Path> pids = Files.list(out.resolve("cluster/pids"))) {
      assertEquals(0, pids.count(), "no pid files may remain");
    }
    String masterLog = Files.readString(out.resolve("cluster/logs/master.log"));
    assertEquals(2, masterLog.split("Registering worker", -1).length - 1, masterLog);
  }

  @Test
  void aLocalMasterRunsTheJobInOneJvmWithoutACluster(@TempDir Path out) throws Exception {
    ClusterScript cluster = ClusterScript.onFreePorts(out);
    ClusterScript.Running.Result args = cluster.run(RUN, "--master", "local[2]", "--print-submit-args", "--job", "sparsify",
        "--", "--model", "m");
    assertEquals(0, args.exit(), args.output());
    List<String> lines = args.output().lines().toList();
    assertEquals(List.of("--master", "local[2]"), lines.subList(0, 2), args.output());
    assertTrue(lines.contains("spark.driver.memory=6g"), "the local profile's driver heap: " + args.output());

    ClusterScript.Running.Result run = cluster.run(RUN, "--master", "local[2]", "--job", "smoke");
    assertEquals(0, run.exit(), run.output());
    assertTrue(run.output().contains("spark-submit (profile local)"), run.output());
    assertTrue(run.output().contains("SMOKE OK sum=333333833333500000 expected=333333833333500000"), run.output());
    assertFalse(run.output().contains("cluster up"), run.output());
    assertFalse(Files.exists(out.resolve("cluster/logs/master.log")), "no cluster may have been started");
  }

  @Test
  void badOptionsFailBeforeAnyClusterStarts(@TempDir Path out) throws Exception {
    ClusterScript cluster = ClusterScript.onFreePorts(out);
    ClusterScript.Running.Result badJob = cluster.run(RUN, "--job", "nope");
    assertNotEquals(0, badJob.exit());
    assertTrue(badJob.output().contains("--job must be train, prep, throughput, smoke, sparsify, evaluate or compare, got 'nope'"),
        badJob.output());

    ClusterScript.Running.Result badMaster = cluster.run(RUN, "--master", "mesos://x:1", "--job", "smoke");
    assertNotEquals(0, badMaster.exit());
    assertTrue(badMaster.output().contains("--master must be spark://host:port, yarn, k8s://... or local[N], got 'mesos://x:1'"),
        badMaster.output());
    assertFalse(Files.exists(out.resolve("cluster/logs/master.log")), "no cluster may have been started");
  }

  @Test
  void withoutOptionsTheMainJobTrainsResNet20WithCombinedPruningTo70Percent(@TempDir Path out) throws Exception {
    ClusterScript cluster = ClusterScript.onFreePorts(out);
    ClusterScript.Running.Result args = cluster.run(RUN, "--print-submit-args");
    assertEquals(0, args.exit(), args.output());
    List<String> lines = args.output().lines().toList();
    assertTrue(lines.contains("spark://127.0.0.1:" + cluster.masterPort), "the embedded cluster: " + lines);
    int main = lines.indexOf("io.sparsetrain.jobs.Main");
    assertTrue(main > 0, args.output());
    assertEquals("train", lines.get(main + 2), "the default job is train: " + lines);
    assertEquals("--config", lines.get(main + 3));
    assertEquals(ClusterScript.ROOT.resolve("jobs/src/main/resources/recipes/resnet20-fashion-mnist-combined70.conf")
        .toString(), lines.get(main + 4));
    assertTrue(lines.contains("data.path=\"" + out.toRealPath().resolve("fashion-mnist") + "\""), args.output());
    assertTrue(lines.contains("output.dir=\"" + out.toRealPath().resolve("train/resnet20-fashion-mnist-combined70")
        + "\""), args.output());

    ClusterScript.Running.Result throughput = cluster.run(RUN, "--print-submit-args", "--job", "throughput");
    assertEquals(0, throughput.exit(), throughput.output());
    List<String> t = throughput.output().lines().toList();
    int tm = t.indexOf("io.sparsetrain.jobs.Main");
    assertEquals(List.of("throughput", "--config", lines.get(main + 4)), t.subList(tm + 2, tm + 5), throughput.output());
    assertTrue(t.contains(out.toRealPath().resolve("throughput/throughput.json").toString()), throughput.output());

    for (String job : List.of("sparsify", "evaluate", "compare")) {
      ClusterScript.Running.Result post = cluster.run(RUN, "--print-submit-args", "--job", job, "--", "--model", "m");
      assertEquals(0, post.exit(), post.output());
      List<String> p = post.output().lines().toList();
      int pm = p.indexOf("io.sparsetrain.jobs.Main");
      assertEquals(List.of(job, "--data", out.toRealPath().resolve("fashion-mnist").toString(), "--model", "m"),
          p.subList(pm + 2, p.size()), post.output());
    }

    ClusterScript.Running.Result help = cluster.run(RUN, "--help");
    assertEquals(0, help.exit());
    for (String s : List.of("train (default)", "prep: only prepare Fashion-MNIST", "throughput:", "sparsify | evaluate",
        "-- --set epochs=3")) {
      assertTrue(help.output().contains(s), s + " in --help:\n" + help.output());
    }
  }
}
