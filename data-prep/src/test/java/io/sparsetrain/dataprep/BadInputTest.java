package io.sparsetrain.dataprep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.dataprep.image.Pixels;
import io.sparsetrain.dataprep.source.SkippedRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each bad-input case fails by default with a message naming the file/record and the reason, and with
 * --skip-bad is skipped and listed in the manifest with its reason. Nothing is published by a failed run.
 */
class BadInputTest {
  @TempDir
  Path tmp;

  private Fixtures.FolderData good() throws IOException {
    return Fixtures.folders(tmp.resolve("in"));
  }

  private PrepOptions.Builder folders(Path in) {
    return PrepOptions.builder().format(InputFormat.FOLDERS).input(in.toString())
        .output(tmp.resolve("out").toString()).shards(2);
  }

  /** Runs prep without --skip-bad (must fail naming {@code source} and {@code reason}), then with it. */
  private Manifest failThenSkip(PrepOptions.Builder b, String source, String reason) {
    DataPrepException e = assertThrows(DataPrepException.class, () -> Fixtures.prep(b.skipBad(false).build()));
    assertTrue(e.getMessage().contains(source), "message names " + source + ": " + e.getMessage());
    assertTrue(e.getMessage().contains(reason), "message gives reason '" + reason + "': " + e.getMessage());
    assertFalse(Files.exists(tmp.resolve("out")), "a failed run publishes nothing");
    assertNoTemporaryLeft();
    Manifest m = Fixtures.prep(b.skipBad(true).build());
    List<SkippedRecord> all = m.splits.values().stream().flatMap(s -> s.skipped.stream()).toList();
    assertTrue(all.stream().anyMatch(s -> s.source.contains(source) && s.reason.contains(reason)),
        "manifest lists " + source + " with '" + reason + "': " + all);
    assertTrue(Manifest.read(tmp.resolve("out").toString(), Fixtures.conf()).toJson().contains(source));
    return m;
  }

  private void assertNoTemporaryLeft() {
    try (var s = Files.list(tmp)) {
      List<String> names = s.map(p -> p.getFileName().toString()).filter(n -> n.contains(".tmp-")).toList();
      assertEquals(List.of(), names, "temporary directory removed after a failure");
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void corruptImage() throws IOException {
    Fixtures.FolderData f = good();
    byte[] garbage = new byte[300];
    new Random(1).nextBytes(garbage);
    Fixtures.write(f.root.resolve("train/cat/broken.jpg"), garbage);
    Manifest m = failThenSkip(folders(f.root), "train/cat/broken.jpg", "not a recognized image format");
    assertEquals(21, m.splits.get("train").rows, "only the bad record is left out");
    assertEquals(1, m.splits.get("train").skippedCount);
  }

  @Test
  void truncatedJpegAndPng() throws IOException {
    Fixtures.FolderData f = good();
    byte[] jpeg = Fixtures.encode(Fixtures.gradient(64, 64, 3, 1), "jpeg");
    Fixtures.write(f.root.resolve("train/dog/cut.JPG"), Arrays.copyOf(jpeg, jpeg.length / 2));
    failThenSkip(folders(f.root), "train/dog/cut.JPG", "truncated");
    Files.delete(f.root.resolve("train/dog/cut.JPG"));
    Files.walk(tmp.resolve("out")).sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
    byte[] png = Fixtures.encode(Fixtures.pixels(new Random(2), 40, 40, 3), "png");
    Fixtures.write(f.root.resolve("val/dog/cut.png"), Arrays.copyOf(png, png.length - 100));
    failThenSkip(folders(f.root), "val/dog/cut.png", "truncated");
  }

  @Test
  void nonImageFile() throws IOException {
    Fixtures.FolderData f = good();
    Fixtures.write(f.root.resolve("train/cat/notes.txt"), "hello".getBytes());
    failThenSkip(folders(f.root), "train/cat/notes.txt", "not an image file");
  }

  @Test
  void emptyClassFolder() throws IOException {
    Fixtures.FolderData f = good();
    Files.createDirectories(f.root.resolve("train/empty class"));
    Manifest m = failThenSkip(folders(f.root), "train/empty class", "empty class folder");
    assertTrue(m.classes.contains("empty class"), "the empty class keeps its index (stable labels)");
    assertEquals(0L, m.splits.get("train").classCounts.get("empty class"));
  }

  @Test
  void unknownLabelInFolders() throws IOException {
    Fixtures.FolderData f = good();
    Fixtures.write(f.root.resolve("val/zebra/z.png"), Fixtures.encode(Fixtures.pixels(new Random(3), 9, 9, 3), "png"));
    failThenSkip(folders(f.root), "val/zebra/z.png", "unknown label 'zebra'");
  }

  @Test
  void unknownLabelInIdx() throws IOException {
    List<Pixels> images = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      images.add(Fixtures.pixels(new Random(i), 4, 4, 1));
    }
    int[] labels = {0, 1, 2, 3, 4, 5, 6, 7, 8, 12};
    Fixtures.idx(tmp.resolve("idx"), "train", images, labels, true);
    Manifest m = failThenSkip(PrepOptions.builder().format(InputFormat.IDX).input(tmp.resolve("idx").toString())
        .output(tmp.resolve("out").toString()).preset(Preset.MNIST), "train-images-idx3-ubyte.gz#9",
        "unknown label 12");
    assertEquals(9, m.splits.get("train").rows);
  }

  @Test
  void idxCountsDisagree() throws IOException {
    List<Pixels> images = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      images.add(Fixtures.pixels(new Random(i), 4, 4, 1));
    }
    Fixtures.idx(tmp.resolve("idx"), "train", images, new int[] {0, 1, 2, 3, 4, 5, 6, 7}, false);
    Manifest m = failThenSkip(PrepOptions.builder().format(InputFormat.IDX).input(tmp.resolve("idx").toString())
        .output(tmp.resolve("out").toString()), "train-images-idx3-ubyte", "IDX counts disagree");
    assertEquals(8, m.splits.get("train").rows);
    List<String> skipped = m.splits.get("train").skipped.stream().map(s -> s.source).collect(Collectors.toList());
    assertTrue(skipped.containsAll(List.of("train-images-idx3-ubyte#8", "train-images-idx3-ubyte#9")), "" + skipped);
  }

  @Test
  void truncatedCifarRecord() throws IOException {
    Path in = tmp.resolve("cifar");
    Files.createDirectories(in);
    byte[] one = Fixtures.cifarRecord(new int[] {3}, Fixtures.pixels(new Random(1), 32, 32, 3));
    byte[] data = new byte[one.length * 2 + 100];
    System.arraycopy(one, 0, data, 0, one.length);
    System.arraycopy(one, 0, data, one.length, one.length);
    Files.write(in.resolve("test_batch.bin"), data);
    Manifest m = failThenSkip(PrepOptions.builder().format(InputFormat.CIFAR10).input(in.toString())
        .output(tmp.resolve("out").toString()), "test_batch.bin#2", "truncated record");
    assertEquals(2, m.splits.get("test").rows);
  }

  @Test
  void missingInputPath() {
    DataPrepException e = assertThrows(DataPrepException.class, () -> Fixtures.prep(PrepOptions.builder()
        .format(InputFormat.FOLDERS).input(tmp.resolve("nowhere").toString())
        .output(tmp.resolve("out").toString()).build()));
    assertTrue(e.getMessage().contains("--input") && e.getMessage().contains("nowhere")
        && e.getMessage().contains("does not exist"), e.getMessage());
  }

  @Test
  void existingOutputRefusedWithoutOverwriteAndReplacedWithIt() throws IOException {
    Fixtures.FolderData f = good();
    Files.createDirectories(tmp.resolve("out"));
    Files.writeString(tmp.resolve("out/keep.txt"), "old");
    DataPrepException e = assertThrows(DataPrepException.class, () -> Fixtures.prep(folders(f.root).build()));
    assertTrue(e.getMessage().contains("--output") && e.getMessage().contains("already exists")
        && e.getMessage().contains("--overwrite"), e.getMessage());
    assertTrue(Files.exists(tmp.resolve("out/keep.txt")), "refusal leaves the existing output alone");
    Manifest m = Fixtures.prep(folders(f.root).overwrite(true).build());
    assertEquals(21, m.splits.get("train").rows);
    assertFalse(Files.exists(tmp.resolve("out/keep.txt")), "--overwrite replaces the old directory entirely");
  }
}
