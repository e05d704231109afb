package io.sparsetrain.jobs;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * run-cluster.sh driven from the integration tests, for an embedded cluster on free ports: every instance writes a
 * sparkconf override file (master, web UIs, small memory) and passes it with {@code --sparkconf-file}, so the tests
 * never touch a cluster on the default ports 7077 / 8080-8082. Outputs (cluster logs, pids, datasets, runs) stay
 * under the instance's {@code --out}.
 */
final class ClusterScript {
  static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();

  final Path out;
  final Path sparkconf;
  final int masterPort;
  final int masterWebUiPort;
  final int workerWebUiPortBase;

  private ClusterScript(Path out, int masterPort, int masterWebUiPort, int workerWebUiPortBase) throws IOException {
    this.out = out;
    this.masterPort = masterPort;
    this.masterWebUiPort = masterWebUiPort;
    this.workerWebUiPortBase = workerWebUiPortBase;
    this.sparkconf = out.resolve("sparkconf-test.conf");
    Files.createDirectories(out);
    Files.writeString(sparkconf, String.join("\n",
        "# written by ClusterScript: an embedded cluster on free ports, sized for tests on a shared machine",
        "sparkconf.profiles.embedded-cluster {",
        "  master = \"spark://127.0.0.1:" + masterPort + "\"",
        "  cluster {",
        "    master-port = " + masterPort,
        "    master-webui-port = " + masterWebUiPort,
        "    worker-webui-port-base = " + workerWebUiPortBase,
        "    worker-memory = \"1536m\"",
        "  }",
        "  conf { \"spark.driver.memory\" = \"1g\", \"spark.executor.memory\" = \"1g\" }",
        "}", ""));
  }

  /** An embedded cluster configuration on free ports, with {@code out} as run-cluster.sh's --out. */
  static ClusterScript onFreePorts(Path out) throws IOException {
    int master = freePort();
    int ui = freePort();
    Random rnd = new Random();
    for (int attempt = 0; attempt < 200; attempt++) {
      int base = 20000 + rnd.nextInt(20000);
      if (base != master && base + 1 != master && base != ui && base + 1 != ui && free(base) && free(base + 1)) {
        return new ClusterScript(out, master, ui, base);
      }
    }
    throw new IllegalStateException("no two consecutive free ports for the worker web UIs");
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  static boolean free(int port) {
    try (ServerSocket s = new ServerSocket(port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** {@code bash run-cluster.sh --skip-build --skip-install --out OUT --sparkconf-file F ARGS...}. */
  List<String> command(String... args) {
    List<String> cmd = new ArrayList<>(List.of("bash", ROOT.resolve("run-cluster.sh").toString(), "--skip-build",
        "--skip-install", "--out", out.toString(), "--sparkconf-file", sparkconf.toString()));
    cmd.addAll(List.of(args));
    return cmd;
  }

  /** Starts run-cluster.sh; its output (stdout and stderr) is read line by line as it comes. */
  Running start(String... args) throws IOException {
    Process p = new ProcessBuilder(command(args)).directory(ROOT.toFile()).redirectErrorStream(true).start();
    return new Running(p);
  }

  /** Runs run-cluster.sh to its end. */
  Running.Result run(Duration timeout, String... args) throws Exception {
    return start(args).await(timeout);
  }

  /** Pids of the cluster's worker JVMs, from run-cluster.sh's pid files. */
  List<Long> workerPids() throws IOException {
    List<Long> pids = new ArrayList<>();
    Path dir = out.resolve("cluster/pids");
    if (Files.isDirectory(dir)) {
      try (var files = Files.list(dir)) {
        for (Path f : files.sorted().toList()) {
          if (f.getFileName().toString().startsWith("worker-")) {
            pids.add(Long.parseLong(Files.readString(f).trim()));
          }
        }
      }
    }
    return pids;
  }

  /** The executor JVMs (CoarseGrainedExecutorBackend) running now: child processes of this cluster's workers. */
  List<ProcessHandle> executors() throws IOException {
    List<ProcessHandle> list = new ArrayList<>();
    for (long w : workerPids()) {
      ProcessHandle.of(w).ifPresent(h -> h.children()
          .filter(c -> commandLine(c).contains("org.apache.spark.executor.CoarseGrainedExecutorBackend"))
          .forEach(list::add));
    }
    return list;
  }

  /** The full command line of a process (from /proc; empty if it is gone). */
  static String commandLine(ProcessHandle h) {
    try {
      return new String(Files.readAllBytes(Path.of("/proc", Long.toString(h.pid()), "cmdline")),
          StandardCharsets.UTF_8).replace('\0', ' ');
    } catch (IOException e) {
      return "";
    }
  }

  /** A running run-cluster.sh whose output is collected by a reader thread. */
  static final class Running {
    final Process process;
    private final List<String> lines = new ArrayList<>();
    private final Thread reader;

    /** Exit code and the whole output. */
    record Result(int exit, String output) {}

    Running(Process process) {
      this.process = process;
      this.reader = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
            StandardCharsets.UTF_8))) {
          for (String line = r.readLine(); line != null; line = r.readLine()) {
            System.out.println("  | " + line);
            synchronized (lines) {
              lines.add(line);
              lines.notifyAll();
            }
          }
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }, "run-cluster-output");
      reader.setDaemon(true);
      reader.start();
    }

    String output() {
      synchronized (lines) {
        return String.join("\n", lines) + "\n";
      }
    }

    /** Waits for the first output line matching {@code p}; fails if the script ends or the time runs out first. */
    String awaitLine(Predicate<String> p, Duration timeout, String what) throws InterruptedException {
      long end = System.nanoTime() + timeout.toNanos();
      int seen = 0;
      synchronized (lines) {
        while (true) {
          for (; seen < lines.size(); seen++) {
            if (p.test(lines.get(seen))) {
              return lines.get(seen);
            }
          }
          long left = end - System.nanoTime();
          if (left <= 0) {
            fail("timed out after " + timeout + " waiting for " + what + "; output so far:\n" + output());
          }
          if (!process.isAlive() && !reader.isAlive()) {
            fail("run-cluster.sh ended (exit " + process.exitValue() + ") before " + what + ":\n" + output());
          }
          lines.wait(Math.min(TimeUnit.NANOSECONDS.toMillis(left) + 1, 500));
        }
      }
    }

    /** The spark-submit JVM (the driver, client deploy mode) started by this script, if it runs now. */
    ProcessHandle driver() {
      return process.toHandle().descendants()
          .filter(h -> commandLine(h).contains("org.apache.spark.deploy.SparkSubmit"))
          .findFirst().orElseThrow(() -> new AssertionError("no spark-submit JVM under run-cluster.sh (pid "
              + process.pid() + ")"));
    }

    Result await(Duration timeout) throws InterruptedException {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        fail("run-cluster.sh did not finish within " + timeout + ":\n" + output());
      }
      reader.join(10_000);
      assertTrue(!reader.isAlive(), "output reader did not finish");
      return new Result(process.exitValue(), output());
    }
  }
}
