package io.sparsetrain.dataprep;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.dataprep.image.ImageTransforms;
import io.sparsetrain.dataprep.image.Pixels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every image's pixels and label survive prep and read-back, for each input kind and payload. */
class RoundTripTest {
  @TempDir
  Path tmp;

  /** All rows of a split, by source id, read with ShardReader from the manifest's shard list. */
  static Map<String, ShardRow> readAll(String dataset, String split) {
    Manifest m = Manifest.read(dataset, Fixtures.conf());
    Map<String, ShardRow> rows = new HashMap<>();
    for (String p : m.shardPaths(split)) {
      try (ShardReader r = ShardReader.open(p, Fixtures.conf())) {
        long lastRank = -1;
        while (r.hasNext()) {
          ShardRow row = r.next();
          assertTrue(row.rank > lastRank, "rows of a shard are in rank order");
          lastRank = row.rank;
          assertNull(rows.put(row.source, row), "duplicate " + row.source);
        }
      }
    }
    return rows;
  }

  @ParameterizedTest
  @ValueSource(strings = {"raw", "encoded"})
  void foldersRoundTrip(String payload) throws Exception {
    Fixtures.FolderData f = Fixtures.folders(tmp.resolve("in"));
    String out = tmp.resolve("out").toString();
    Manifest m = Fixtures.prep(PrepOptions.builder().format(InputFormat.FOLDERS).input(f.root.toString())
        .output(out).shards(3).payload(Payload.parse(payload)).build());

    assertEquals(List.of("cat", "dog", "sea lion"), m.classes);
    assertEquals(21, m.splits.get("train").rows);
    assertEquals(9, m.splits.get("val").rows);
    assertEquals(7L, m.splits.get("train").classCounts.get("sea lion"));
    assertNull(m.image.height, "mixed sizes without --resize: no fixed height");
    assertEquals(3, m.image.channels);
    int seen = 0;
    for (String split : List.of("train", "val")) {
      Map<String, ShardRow> rows = readAll(out, split);
      for (Map.Entry<String, ShardRow> e : rows.entrySet()) {
        ShardRow row = e.getValue();
        assertEquals(f.classOf.get(row.source), row.labelName, row.source);
        assertEquals(m.classes.indexOf(row.labelName), row.label, row.source);
        assertEquals(f.expected.get(row.source), row.pixels(), row.source);
        if (payload.equals("encoded") && f.expected.get(row.source).channels() == 3
            && !isGreyFile(f, row.source)) {
          assertArrayEquals(f.fileBytes.get(row.source), row.image, "untouched file kept byte for byte");
        }
        seen++;
      }
    }
    assertEquals(f.expected.size(), seen);
  }

  private static boolean isGreyFile(Fixtures.FolderData f, String source) throws Exception {
    return io.sparsetrain.dataprep.image.ImageCodec.decode(f.fileBytes.get(source)).pixels.channels() == 1;
  }

  @Test
  void foldersResizeCropGreyGivesFixedShapeAndMatchesTransforms() throws Exception {
    Fixtures.FolderData f = Fixtures.folders(tmp.resolve("in"));
    String out = tmp.resolve("out").toString();
    Manifest m = Fixtures.prep(PrepOptions.builder().format(InputFormat.FOLDERS).input(f.root.toString())
        .output(out).shards(2).resize(TargetSize.shorterSide(12)).centerCrop(TargetSize.exact(10, 10)).channels(1)
        .build());
    assertEquals(10, m.image.height);
    assertEquals(10, m.image.width);
    assertEquals(1, m.image.channels);
    for (ShardRow row : readAll(out, "train").values()) {
      Pixels expected = ImageTransforms.centerCrop(ImageTransforms.resizeShorterSide(
          ImageTransforms.convertChannels(f.expected.get(row.source), 1), 12), 10, 10);
      assertEquals(expected, row.pixels(), row.source);
    }
  }

  @ParameterizedTest
  @org.junit.jupiter.params.provider.CsvSource({"true,raw", "false,encoded"})
  void idxRoundTrip(boolean gzip, String payload) throws Exception {
    Random rnd = new Random(gzip ? 1 : 2);
    Path in = tmp.resolve("idx");
    Map<String, Pixels> expected = new HashMap<>();
    Map<String, Integer> labels = new HashMap<>();
    for (String prefix : List.of("train", "t10k")) {
      int n = prefix.equals("train") ? 50 : 20;
      List<Pixels> images = new ArrayList<>();
      int[] l = new int[n];
      for (int i = 0; i < n; i++) {
        images.add(Fixtures.pixels(rnd, 5, 7, 1));
        l[i] = i % 10;
        String file = prefix + "-images-idx3-ubyte" + (gzip ? ".gz" : "");
        expected.put(file + "#" + i, images.get(i));
        labels.put(file + "#" + i, l[i]);
      }
      Fixtures.idx(in, prefix, images, l, gzip);
    }
    String out = tmp.resolve("out").toString();
    Manifest m = Fixtures.prep(PrepOptions.builder().format(InputFormat.IDX).input(in.toString()).output(out)
        .shards(4).preset(Preset.FASHION_MNIST).payload(Payload.parse(payload)).build());
    assertEquals(List.of("test", "train"), new ArrayList<>(m.splits.keySet()));
    assertEquals(50, m.splits.get("train").rows);
    assertEquals(20, m.splits.get("test").rows);
    assertEquals(5L, m.splits.get("train").classCounts.get("Ankle boot"));
    assertEquals(5, m.image.height);
    assertEquals(7, m.image.width);
    assertEquals(1, m.image.channels);
    int seen = 0;
    for (String split : List.of("train", "test")) {
      for (ShardRow row : readAll(out, split).values()) {
        assertEquals(expected.get(row.source), row.pixels(), row.source);
        assertEquals(payload.equals("raw") ? "raw" : "png", row.format);
        assertEquals(labels.get(row.source), row.label, row.source);
        assertEquals(Preset.FASHION_MNIST.classNames().get(row.label), row.labelName);
        seen++;
      }
    }
    assertEquals(70, seen);
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void cifarRoundTrip(boolean cifar100) throws Exception {
    Random rnd = new Random(3);
    Path in = tmp.resolve("cifar").resolve(cifar100 ? "cifar-100-binary" : "cifar-10-batches-bin");
    Files.createDirectories(in);
    Map<String, Pixels> expected = new HashMap<>();
    Map<String, Integer> labels = new HashMap<>();
    List<String> files = cifar100 ? List.of("train.bin", "test.bin")
        : List.of("data_batch_1.bin", "data_batch_2.bin", "test_batch.bin");
    int numClasses = cifar100 ? 100 : 10;
    for (String file : files) {
      java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
      for (int i = 0; i < 12; i++) {
        Pixels p = Fixtures.pixels(rnd, 32, 32, 3);
        int label = rnd.nextInt(numClasses);
        int[] lb = cifar100 ? new int[] {label / 5, label} : new int[] {label};
        bytes.write(Fixtures.cifarRecord(lb, p));
        expected.put(file + "#" + i, p);
        labels.put(file + "#" + i, label);
      }
      Files.write(in.resolve(file), bytes.toByteArray());
    }
    if (!cifar100) {
      Files.writeString(in.resolve("batches.meta.txt"), String.join("\n", Preset.CIFAR10.classNames()) + "\n\n");
    }
    String out = tmp.resolve("out").toString();
    Manifest m = Fixtures.prep(PrepOptions.builder().format(cifar100 ? InputFormat.CIFAR100 : InputFormat.CIFAR10)
        .input(tmp.resolve("cifar").toString()).output(out).shards(2)
        .preset(cifar100 ? Preset.CIFAR100 : null).build());
    assertEquals(numClasses, m.numClasses);
    assertEquals(cifar100 ? Preset.CIFAR100.classNames() : Preset.CIFAR10.classNames(), m.classes);
    assertEquals(cifar100 ? 12 : 24, m.splits.get("train").rows);
    assertEquals(12, m.splits.get("test").rows);
    int seen = 0;
    for (String split : List.of("train", "test")) {
      for (ShardRow row : readAll(out, split).values()) {
        assertEquals(expected.get(row.source), row.pixels(), row.source);
        assertEquals(labels.get(row.source), row.label, row.source);
        seen++;
      }
    }
    assertEquals(expected.size(), seen);
  }
}
