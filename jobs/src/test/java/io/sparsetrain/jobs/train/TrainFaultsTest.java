package io.sparsetrain.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.jobs.train.config.TrainConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Each failure names its cause: a bad config, a missing dataset, an unreachable s3a endpoint. */
class TrainFaultsTest {

  @TempDir
  Path tmp;

  /** Runs the command as Main does (exception handler printing one line), returning exit code and stderr. */
  private static String[] run(String... args) {
    TrainCommand cmd = new TrainCommand();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    cmd.out = new PrintStream(out, true, StandardCharsets.UTF_8);
    CommandLine cli = new CommandLine(cmd);
    StringWriter err = new StringWriter();
    cli.setErr(new PrintWriter(err, true));
    cli.setExecutionExceptionHandler((ex, c, parsed) -> {
      c.getErr().println("sparsetrain train: " + ex.getMessage());
      return 1;
    });
    int code = cli.execute(args);
    return new String[] {Integer.toString(code), err.toString(), out.toString(StandardCharsets.UTF_8)};
  }

  @Test
  void badConfigFailsBeforeSparkNamingKeyValueAndFileLine() throws Exception {
    Path conf = tmp.resolve("x.conf");
    Files.writeString(conf, "train {\n  data.path = \"/d\"\n  output.dir = \"/o\"\n  schedule {\n"
        + "    final-sparsity = 1.3\n  }\n}\n");
    String[] r = run("--config", conf.toString(), "--print-config");
    assertEquals("1", r[0]);
    assertTrue(r[1].contains("train.schedule.final-sparsity must be in [0, 1), got 1.3 (from " + conf + ": 5)"), r[1]);
  }

  @Test
  void missingDatasetIsNamed() {
    TrainConfig c = TrainFixtures.tinyConfig(tmp.resolve("out"), "data.path=\"" + tmp.resolve("no-such-dataset") + "\"");
    TrainException e = assertThrows(TrainException.class,
        () -> TrainJob.run(TrainFixtures.spark(), c, false, l -> { }));
    assertTrue(e.getMessage().startsWith("train.data.path=" + tmp.resolve("no-such-dataset")), e.getMessage());
    assertTrue(e.getMessage().contains("no manifest.json"), e.getMessage());
  }

  @Test
  void unreachableS3aEndpointIsNamedAndFailsFast() {
    long t0 = System.nanoTime();
    String endpointBefore = TrainFixtures.spark().sparkContext().hadoopConfiguration().get("fs.s3a.endpoint");
    // port 9 (discard) on loopback: nothing listens; fail-fast retry settings as sparkconf's s3a-compatible-endpoint
    TrainConfig c = TrainFixtures.tinyConfig(tmp.resolve("out"), "data.path=\"s3a://bucket/datasets/tiny\"",
        "hadoop.\"fs.s3a.endpoint\"=\"http://127.0.0.1:9\"",
        "hadoop.\"fs.s3a.path.style.access\"=true",
        "hadoop.\"fs.s3a.connection.ssl.enabled\"=false",
        "hadoop.\"fs.s3a.aws.credentials.provider\"=\"org.apache.hadoop.fs.s3a.AnonymousAWSCredentialsProvider\"",
        "hadoop.\"fs.s3a.attempts.maximum\"=1",
        "hadoop.\"fs.s3a.retry.limit\"=1",
        "hadoop.\"fs.s3a.retry.interval\"=\"50ms\"",
        "hadoop.\"fs.s3a.connection.establish.timeout\"=1000",
        "hadoop.\"fs.s3a.connection.timeout\"=2000");
    TrainException e = assertThrows(TrainException.class,
        () -> TrainJob.run(TrainFixtures.spark(), c, false, l -> { }));
    String m = e.getMessage();
    assertTrue(m.startsWith("train.data.path=s3a://bucket/datasets/tiny"), m);
    assertTrue(m.contains("storage endpoint unreachable"), m);
    assertTrue((System.nanoTime() - t0) / 1e9 < 120, "fails in seconds, not minutes");
    // the job's Hadoop keys do not leak into the shared session
    assertEquals(endpointBefore, TrainFixtures.spark().sparkContext().hadoopConfiguration().get("fs.s3a.endpoint"));
  }
}
