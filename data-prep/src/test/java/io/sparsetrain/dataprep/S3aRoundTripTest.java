package io.sparsetrain.dataprep;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.dataprep.image.Pixels;
import java.io.InputStream;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * s3a against s3rver: IDX input uploaded to a bucket, shards written to s3a://, read back with identical counts
 * and bytes (checksums equal to a local run with the same seed); credentials in no log line and no manifest;
 * an unreachable endpoint fails fast naming it.
 */
@ExtendWith(S3rverExtension.class)
class S3aRoundTripTest {
  @TempDir
  Path tmp;

  @Test
  void writeToS3aAndReadBackIdentically() throws Exception {
    Path in = tmp.resolve("idx");
    Random rnd = new Random(21);
    List<Pixels> images = new ArrayList<>();
    int[] labels = new int[300];
    for (int i = 0; i < labels.length; i++) {
      images.add(Fixtures.pixels(rnd, 8, 8, 1));
      labels[i] = i % 10;
    }
    Fixtures.idx(in, "train", images, labels, true);
    Fixtures.idx(in, "t10k", images.subList(0, 50), java.util.Arrays.copyOf(labels, 50), true);
    Configuration conf = Fixtures.conf();
    String s3Input = S3rverExtension.bucketUri("inputs/fmnist-like");
    FileSystem s3 = new org.apache.hadoop.fs.Path(s3Input).getFileSystem(conf);
    try (var files = Files.list(in)) {
      for (Path f : files.toList()) {
        s3.copyFromLocalFile(new org.apache.hadoop.fs.Path(f.toUri()),
            new org.apache.hadoop.fs.Path(s3Input + "/" + f.getFileName()));
      }
    }

    PrepOptions.Builder opts = PrepOptions.builder().format(InputFormat.IDX).shards(3).seed(77)
        .preset(Preset.FASHION_MNIST);
    Manifest local = Fixtures.prep(opts.input(in.toString()).output(tmp.resolve("local").toString()).build());

    StringWriter captured = new StringWriter();
    List<String> progress = new ArrayList<>();
    String s3Output = S3rverExtension.bucketUri("datasets/fmnist-like");
    Manifest remote;
    try (AutoCloseable capture = captureLogs(captured)) {
      remote = Fixtures.prep(opts.input(s3Input).output(s3Output).build(), progress);
    }

    Manifest reread = Manifest.read(s3Output, conf);
    for (String split : List.of("train", "test")) {
      Manifest.Split l = local.splits.get(split);
      Manifest.Split r = reread.splits.get(split);
      assertEquals(l.rows, r.rows, split);
      assertEquals(l.classCounts, r.classCounts, split);
      assertEquals(l.shards.size(), r.shards.size());
      for (int i = 0; i < l.shards.size(); i++) {
        assertEquals(l.shards.get(i).sha256, r.shards.get(i).sha256, "same seed, same shard bytes on s3a");
        assertEquals(l.shards.get(i).rows, r.shards.get(i).rows);
        byte[] remoteBytes;
        try (InputStream s = s3.open(new org.apache.hadoop.fs.Path(reread.shardPaths(split).get(i)))) {
          remoteBytes = s.readAllBytes();
        }
        assertArrayEquals(Files.readAllBytes(tmp.resolve("local").resolve(l.shards.get(i).path)), remoteBytes);
      }
    }
    assertEquals(300, reread.splits.get("train").rows);
    Map<String, ShardRow> rows = RoundTripTest.readAll(s3Output, "train");
    assertEquals(300, rows.size());
    assertArrayEquals(images.get(17).data(), rows.get("train-images-idx3-ubyte.gz#17").image);

    double examples = ReadBackTest.summarize(ParquetDataSets.dataSets(Fixtures.spark(), s3Output, "test",
        BatchOptions.builder().batchSize(16).build())).stream().mapToDouble(b -> b[0]).sum();
    assertEquals(50, examples, "executors read the s3a shards into batches");

    String manifestJson = remote.toJson();
    String everything = manifestJson + String.join("\n", progress) + captured + reread.summary();
    assertFalse(everything.contains(S3rverExtension.SECRET_KEY), "secret key in a manifest or log line");
    assertTrue(manifestJson.contains("s3a://" + S3rverExtension.BUCKET + "/inputs/fmnist-like"));

    // a re-run refuses, then replaces with --overwrite
    DataPrepException exists = assertThrows(DataPrepException.class,
        () -> Fixtures.prep(opts.input(s3Input).output(s3Output).build()));
    assertTrue(exists.getMessage().contains("already exists"), exists.getMessage());
    Manifest again = Fixtures.prep(opts.input(s3Input).output(s3Output).overwrite(true).build());
    assertEquals(remote.splits.get("train").shards.get(0).sha256, again.splits.get("train").shards.get(0).sha256);
  }

  @Test
  void folderImagesOnS3aAreDecodedOnExecutorsIdenticallyToLocal() throws Exception {
    Fixtures.FolderData f = Fixtures.folders(tmp.resolve("in"));
    Configuration conf = Fixtures.conf();
    String s3Input = S3rverExtension.bucketUri("inputs/folders");
    FileSystem s3 = new org.apache.hadoop.fs.Path(s3Input).getFileSystem(conf);
    try (var files = Files.walk(f.root)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        String rel = f.root.relativize(file).toString(); // keeps the spaces: "train/dog/sub dir/photo 2.PNG"
        s3.copyFromLocalFile(new org.apache.hadoop.fs.Path(file.toUri()),
            new org.apache.hadoop.fs.Path(s3Input + "/" + rel));
      }
    }
    for (String split : List.of("train", "val")) {
      S3rverExtension.putDirectoryMarker("inputs/folders/" + split); // s3rver listing quirk, see there
    }
    PrepOptions.Builder opts = PrepOptions.builder().format(InputFormat.FOLDERS).shards(2).seed(3)
        .resize(TargetSize.exact(12, 12));
    Manifest local = Fixtures.prep(opts.input(f.root.toString()).output(tmp.resolve("local").toString()).build());
    Manifest remote = Fixtures.prep(opts.input(s3Input).output(S3rverExtension.bucketUri("datasets/folders"))
        .build());
    for (String split : List.of("train", "val")) {
      assertEquals(local.splits.get(split).rows, remote.splits.get(split).rows);
      for (int i = 0; i < 2; i++) {
        assertEquals(local.splits.get(split).shards.get(i).sha256, remote.splits.get(split).shards.get(i).sha256,
            "record ids are relative to --input, so s3a and local runs give the same bytes");
      }
    }
  }

  @Test
  void unreachableEndpointFailsFastNamingIt() throws Exception {
    int deadPort;
    try (ServerSocket s = new ServerSocket(0)) {
      deadPort = s.getLocalPort();
    }
    String bucket = "nobody-home";
    Configuration conf = Fixtures.conf();
    String key = "fs.s3a.bucket." + bucket + ".endpoint";
    conf.set(key, "http://127.0.0.1:" + deadPort);
    Path in = tmp.resolve("idx");
    Fixtures.idx(in, "train", List.of(Fixtures.pixels(new Random(1), 4, 4, 1)), new int[] {0}, false);
    long t0 = System.nanoTime();
    try {
      DataPrepException e = assertThrows(DataPrepException.class, () -> Fixtures.prep(PrepOptions.builder()
          .format(InputFormat.IDX).input(in.toString()).output("s3a://" + bucket + "/ds").build()));
      double secs = (System.nanoTime() - t0) / 1e9;
      System.out.printf("unreachable s3a endpoint failed after %.1f s: %s%n", secs, e.getMessage());
      assertTrue(secs < 60, "failed after " + secs + " s");
      assertTrue(e.getMessage().contains("s3a://" + bucket + "/ds"), e.getMessage());
      assertTrue(e.getMessage().contains("127.0.0.1:" + deadPort), e.getMessage());
      assertFalse(e.getMessage().contains(S3rverExtension.SECRET_KEY), e.getMessage());
    } finally {
      conf.unset(key);
      FileSystem.get(new java.net.URI("s3a://" + bucket + "/"), conf).close();
    }
  }

  /** Captures every log4j2 event (all loggers, their configured levels) while open. */
  static AutoCloseable captureLogs(StringWriter sink) {
    LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
    org.apache.logging.log4j.core.config.Configuration config = ctx.getConfiguration();
    WriterAppender app = WriterAppender.newBuilder().setName("s3a-capture").setTarget(sink)
        .setLayout(PatternLayout.newBuilder().withPattern("%p %c: %m%n%ex").build()).build();
    app.start();
    config.getRootLogger().addAppender(app, Level.ALL, null);
    ctx.updateLoggers();
    return () -> {
      config.getRootLogger().removeAppender("s3a-capture");
      ctx.updateLoggers();
      app.stop();
    };
  }
}
