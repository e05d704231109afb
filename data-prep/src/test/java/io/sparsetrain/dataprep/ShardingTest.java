package io.sparsetrain.dataprep;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.dataprep.image.Pixels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Shard balance, byte-for-byte determinism by seed, checksums, and atomic publication. */
class ShardingTest {
  @TempDir
  Path tmp;
  Path in;

  @BeforeEach
  void idxInput() throws IOException {
    in = tmp.resolve("idx");
    Random rnd = new Random(11);
    List<Pixels> images = new ArrayList<>();
    int n = 1003; // not a multiple of the shard count
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      images.add(Fixtures.pixels(rnd, 6, 6, 1));
      labels[i] = rnd.nextInt(10);
    }
    Fixtures.idx(in, "train", images, labels, true);
  }

  private PrepOptions.Builder opts(String out, long seed) {
    return PrepOptions.builder().format(InputFormat.IDX).input(in.toString()).output(tmp.resolve(out).toString())
        .shards(7).seed(seed).preset(Preset.FASHION_MNIST);
  }

  @Test
  void shardsAreBalancedAndChecksummed() throws Exception {
    Manifest m = Fixtures.prep(opts("a", 5).build());
    Manifest.Split s = m.splits.get("train");
    assertEquals(7, s.shards.size());
    long min = s.shards.stream().mapToLong(x -> x.rows).min().orElseThrow();
    long max = s.shards.stream().mapToLong(x -> x.rows).max().orElseThrow();
    assertTrue(max - min <= 1, "shard sizes differ by at most one row: " + min + ".." + max);
    assertEquals(1003, s.shards.stream().mapToLong(x -> x.rows).sum());
    for (int i = 0; i < 7; i++) {
      Manifest.Shard sh = s.shards.get(i);
      assertEquals(String.format("train/shard-%05d-of-00007.parquet", i), sh.path);
      Path file = tmp.resolve("a").resolve(sh.path);
      assertEquals(Files.size(file), sh.bytes);
      assertEquals(sha256(file), sh.sha256);
      long rows = 0;
      try (ShardReader r = ShardReader.open(file.toString(), Fixtures.conf())) {
        while (r.hasNext()) {
          assertEquals(i, r.next().rank % 7, "shard = rank mod shards");
          rows++;
        }
      }
      assertEquals(sh.rows, rows);
    }
    assertTrue(Files.exists(tmp.resolve("a/classes.json")));
    assertTrue(Files.readString(tmp.resolve("a/classes.json")).contains("\"T-shirt/top\""));
  }

  @Test
  void sameSeedGivesByteIdenticalShardsOtherSeedDoesNot() throws Exception {
    Manifest a = Fixtures.prep(opts("a", 5).build());
    Manifest b = Fixtures.prep(opts("b", 5).build());
    Manifest c = Fixtures.prep(opts("c", 6).build());
    for (int i = 0; i < 7; i++) {
      String path = a.splits.get("train").shards.get(i).path;
      assertArrayEquals(Files.readAllBytes(tmp.resolve("a").resolve(path)),
          Files.readAllBytes(tmp.resolve("b").resolve(path)), "shard " + i + " byte for byte");
      assertEquals(a.splits.get("train").shards.get(i).sha256, b.splits.get("train").shards.get(i).sha256);
    }
    assertNotEquals(a.splits.get("train").shards.get(0).sha256, c.splits.get("train").shards.get(0).sha256,
        "another seed shuffles differently");
    assertEquals(a.splits.get("train").classCounts, c.splits.get("train").classCounts);
  }

  @Test
  void killedRunLeavesNothingThatLooksFinishedAndRerunReplacesCleanly() throws Exception {
    Fixtures.prep(opts("out", 5).build()); // an earlier, finished dataset
    class Killed extends RuntimeException {}
    assertThrows(Killed.class, () -> PrepJob.run(Fixtures.spark(), opts("out", 6).overwrite(true).build(),
        s -> { }, () -> {
          throw new Killed(); // dies after writing all shards, before publishing
        }));
    assertEquals(5L, ((Number) Manifest.read(tmp.resolve("out").toString(), Fixtures.conf()).options.get("seed"))
        .longValue(), "the old dataset is untouched by a run that died before publishing");

    // A kill -9 at the same point leaves the temporary directory: hidden, without a manifest.
    Path leftover = tmp.resolve(".out.tmp-19700101T000000Z-dead");
    Files.createDirectories(leftover.resolve("train"));
    Files.writeString(leftover.resolve("train/shard-00000-of-00007.parquet"), "half written");
    DataPrepException e = assertThrows(DataPrepException.class,
        () -> Manifest.read(leftover.toString(), Fixtures.conf()));
    assertTrue(e.getMessage().contains("not a finished"), e.getMessage());

    // A kill between moving the directory and writing the manifest: output without manifest is refused too.
    Path noManifest = tmp.resolve("half");
    Files.createDirectories(noManifest.resolve("train"));
    assertThrows(DataPrepException.class, () -> Manifest.read(noManifest.toString(), Fixtures.conf()));

    Manifest m = Fixtures.prep(opts("out", 6).overwrite(true).build());
    assertEquals(6L, ((Number) m.options.get("seed")).longValue());
    assertFalse(Files.exists(leftover), "--overwrite removes temporaries of interrupted runs");
    try (var s = Files.list(tmp.resolve("out/train"))) {
      assertEquals(7, s.filter(p -> p.getFileName().toString().endsWith(".parquet")).count(),
          "no files of the replaced dataset remain");
    }
  }

  static String sha256(Path p) throws Exception {
    return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
        .digest(Files.readAllBytes(p)));
  }
}
