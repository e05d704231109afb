package io.sparsetrain.dataprep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/** The prep command line: option validation before Spark, and a full run with progress and summary. */
class PrepCommandTest {
  @TempDir
  Path tmp;

  record Result(int code, String out, String err) {}

  static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new PrepCommand());
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Result(code, out.toString(), err.toString());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "--format=jpeg|--format must be one of folders|idx|cifar10|cifar100, got 'jpeg'",
      "--shards=0|--shards must be in 1..100000, got 0",
      "--payload=png|--payload must be raw or encoded, got 'png'",
      "--resize=abc|--resize must look like HxW",
      "--center-crop=0x5|--center-crop sides must be in 1..8192, got '0x5'",
      "--channels=2|--channels must be 1 or 3, got 2",
      "--preset=imagenet|--preset must be one of fashion-mnist|mnist|cifar10|cifar100, got 'imagenet'"})
  void badOptionsAreNamedBeforeSparkStarts(String arg, String message) {
    String[] base = {"--format=idx", "--input=/nonexistent/in", "--output=/nonexistent/out"};
    String[] args = java.util.Arrays.copyOf(base, 4);
    args[3] = arg;
    if (arg.startsWith("--format")) {
      args[0] = arg;
      args = java.util.Arrays.copyOf(base, 3);
      args[0] = arg;
    }
    Result r = run(args);
    assertEquals(2, r.code, r.err);
    assertTrue(r.err.contains(message), r.err);
  }

  @Test
  void missingLocalInputIsReportedBeforeSpark() {
    Result r = run("--format=folders", "--input=" + tmp.resolve("missing dir"), "--output=" + tmp.resolve("o"));
    assertEquals(2, r.code);
    assertTrue(r.err.contains("--input " + tmp.resolve("missing dir") + " does not exist"), r.err);
  }

  @Test
  void unknownSparkProfileIsNamed() {
    Result r = run("--format=idx", "--input=" + tmp, "--output=" + tmp.resolveSibling("o-" + tmp.getFileName()),
        "--spark-profile=nope");
    assertEquals(2, r.code);
    assertTrue(r.err.contains("--spark-profile 'nope' is unknown; known profiles: ["), r.err);
  }

  @Test
  void presetAndClassNamesAreExclusive() {
    Result r = run("--format=idx", "--input=/x", "--output=/y", "--preset=mnist", "--class-names=a,b");
    assertEquals(2, r.code);
    assertTrue(r.err.contains("--preset mnist and --class-names are exclusive"), r.err);
  }

  @Test
  void fullRunPrintsProgressAndSummary() throws Exception {
    java.util.List<io.sparsetrain.dataprep.image.Pixels> images = new java.util.ArrayList<>();
    int[] labels = new int[40];
    for (int i = 0; i < 40; i++) {
      images.add(Fixtures.pixels(new Random(i), 3, 3, 1));
      labels[i] = i % 4;
    }
    Fixtures.idx(tmp.resolve("in"), "train", images, labels, false);
    Fixtures.spark(); // the shared session: getOrCreate in the command picks it up
    Result r = run("--format", "idx", "--input", tmp.resolve("in").toString(), "--output",
        tmp.resolve("out").toString(), "--shards", "2", "--class-names", "w,x,y,z", "--payload", "encoded");
    assertEquals(0, r.code, r.err);
    assertTrue(r.out.contains("[prep] split train: 40 rows in 2 shards"), r.out);
    assertTrue(r.out.contains("train: 40 rows in 2 shards, 0 skipped"), r.out);
    assertTrue(r.out.contains("per class: w=10 x=10 y=10 z=10"), r.out);

    Result again = run("--format", "idx", "--input", tmp.resolve("in").toString(), "--output",
        tmp.resolve("out").toString());
    assertEquals(2, again.code, "local output checked before Spark");
    assertTrue(again.err.contains("already exists (pass --overwrite to replace it)"), again.err);
  }
}
