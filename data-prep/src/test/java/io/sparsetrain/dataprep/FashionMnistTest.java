package io.sparsetrain.dataprep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.DataInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real Fashion-MNIST test split (Debian dataset-fashion-mnist): 10,000 rows, 1,000 per class. */
class FashionMnistTest {
  static final Path DIR = Path.of("/usr/share/datasets/fashion-mnist");

  @TempDir
  Path tmp;

  @Test
  void testSplitCountsAndPixels() throws Exception {
    assumeTrue(Files.exists(DIR.resolve("t10k-images-idx3-ubyte.gz")), "dataset-fashion-mnist not installed");
    Path in = tmp.resolve("in");
    Files.createDirectories(in);
    for (String f : new String[] {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
      Files.createSymbolicLink(in.resolve(f), DIR.resolve(f)); // the test split only: keeps the test short
    }
    String out = tmp.resolve("fmnist").toString();
    Manifest m = Fixtures.prep(PrepOptions.builder().format(InputFormat.IDX).input(in.toString()).output(out)
        .shards(4).preset(Preset.FASHION_MNIST).build());
    Manifest.Split test = m.splits.get("test");
    assertEquals(10_000, test.rows);
    assertEquals(Preset.FASHION_MNIST.classNames(), m.classes);
    for (String c : Preset.FASHION_MNIST.classNames()) {
      assertEquals(1_000L, test.classCounts.get(c), c);
    }
    assertEquals(0, test.skippedCount);
    assertEquals(28, m.image.height);
    assertEquals(1, m.image.channels);
    assertEquals(2500L, test.shards.get(0).rows);

    // Spot-check image 0 of the file against the shard row with source ...#0.
    byte[] first = new byte[784];
    try (InputStream raw = Files.newInputStream(DIR.resolve("t10k-images-idx3-ubyte.gz"));
        DataInputStream d = new DataInputStream(new GZIPInputStream(raw))) {
      d.skipNBytes(16);
      d.readFully(first);
    }
    ShardRow row = RoundTripTest.readAll(out, "test").get("t10k-images-idx3-ubyte.gz#0");
    assertEquals(9, row.label, "Fashion-MNIST test image 0 is an ankle boot");
    assertEquals("Ankle boot", row.labelName);
    org.junit.jupiter.api.Assertions.assertArrayEquals(first, row.image);
  }
}
