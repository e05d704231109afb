package io.sparsetrain.dataprep;

import io.sparsetrain.dataprep.image.ImageCodec;
import io.sparsetrain.dataprep.image.Pixels;
import io.sparsetrain.sparkconf.SharedSparkSession;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.GZIPOutputStream;
import javax.imageio.ImageIO;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;

/**
 * Small inputs generated at test time (no binary fixtures in the tree): class folders of PNG/JPEG (grey and
 * RGB, mixed sizes, upper-case extensions, nested paths, spaces), IDX files (gzip or not) and CIFAR-10/100
 * binary batches, each with the pixels and labels a round trip must reproduce.
 */
final class Fixtures {
  private Fixtures() {}

  static SparkSession spark() {
    return SharedSparkSession.session();
  }

  static Configuration conf() {
    return spark().sparkContext().hadoopConfiguration();
  }

  /** Runs prep on the shared session, collecting progress lines. */
  static Manifest prep(PrepOptions opts, List<String> progress) {
    return PrepJob.run(spark(), opts, progress::add);
  }

  static Manifest prep(PrepOptions opts) {
    return prep(opts, new ArrayList<>());
  }

  /** Deterministic random pixels. */
  static Pixels pixels(Random rnd, int h, int w, int c) {
    byte[] d = new byte[h * w * c];
    rnd.nextBytes(d);
    return new Pixels(h, w, c, d);
  }

  /** Smooth pixels (compress well as JPEG, so decoded JPEGs stay close to them). */
  static Pixels gradient(int h, int w, int c, int phase) {
    byte[] d = new byte[h * w * c];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        for (int k = 0; k < c; k++) {
          d[(y * w + x) * c + k] = (byte) ((x * 7 + y * 3 + k * 60 + phase * 17) & 0xff);
        }
      }
    }
    return new Pixels(h, w, c, d);
  }

  static byte[] encode(Pixels p, String format) throws IOException {
    BufferedImage img = ImageCodec.toImage(p);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    if (!ImageIO.write(img, format, out)) {
      throw new IllegalStateException("no writer for " + format);
    }
    return out.toByteArray();
  }

  static void write(Path file, byte[] bytes) throws IOException {
    Files.createDirectories(file.getParent());
    Files.write(file, bytes);
  }

  /** A folder dataset: what each source id must decode to (RGB, 3 channels) and its class. */
  static final class FolderData {
    final Path root;
    final Map<String, Pixels> expected = new LinkedHashMap<>(); // source -> pixels as 3-channel
    final Map<String, String> classOf = new LinkedHashMap<>();
    final Map<String, byte[]> fileBytes = new LinkedHashMap<>();

    FolderData(Path root) {
      this.root = root;
    }

    void add(String rel, String className, Pixels px, String format) throws IOException {
      byte[] bytes = encode(px, format);
      write(root.resolve(rel), bytes);
      Pixels decoded;
      try {
        decoded = ImageCodec.decode(bytes).pixels; // JPEG is lossy: expect what the codec reads back
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      expected.put(rel, io.sparsetrain.dataprep.image.ImageTransforms.convertChannels(decoded, 3));
      classOf.put(rel, className);
      fileBytes.put(rel, bytes);
    }
  }

  /**
   * train: classes "cat", "dog", "sea lion"; val: same classes. Mixed sizes, grey and RGB, PNG and JPEG
   * (upper- and lower-case extensions), nested sub-directories and spaces in names.
   */
  static FolderData folders(Path root) throws IOException {
    FolderData f = new FolderData(root);
    Random rnd = new Random(7);
    String[] classes = {"cat", "dog", "sea lion"};
    int i = 0;
    for (String split : new String[] {"train", "val"}) {
      int perClass = split.equals("train") ? 7 : 3;
      for (String cls : classes) {
        for (int k = 0; k < perClass; k++, i++) {
          int h = 8 + rnd.nextInt(17);
          int w = 8 + rnd.nextInt(17);
          boolean grey = k % 3 == 0;
          Pixels px = grey ? pixels(rnd, h, w, 1) : pixels(rnd, h, w, 3);
          String rel;
          String format;
          switch (k % 4) {
            case 0 -> { rel = split + "/" + cls + "/img " + k + ".png"; format = "png"; }
            case 1 -> { rel = split + "/" + cls + "/nested/deeper/IMG_" + k + ".JPEG"; format = "jpeg";
              px = gradient(h, w, grey ? 1 : 3, k); }
            case 2 -> { rel = split + "/" + cls + "/sub dir/photo " + k + ".PNG"; format = "png"; }
            default -> { rel = split + "/" + cls + "/x" + k + ".jpg"; format = "jpeg"; px = gradient(h, w, 3, k); }
          }
          f.add(rel, cls, px, format);
        }
      }
    }
    return f;
  }

  /** Writes an IDX3 images file and an IDX1 labels file. */
  static void idx(Path dir, String prefix, List<Pixels> images, int[] labels, boolean gzip) throws IOException {
    Files.createDirectories(dir);
    String gz = gzip ? ".gz" : "";
    try (DataOutputStream o = new DataOutputStream(open(dir.resolve(prefix + "-images-idx3-ubyte" + gz), gzip))) {
      o.writeInt(0x803);
      o.writeInt(images.size());
      o.writeInt(images.get(0).height());
      o.writeInt(images.get(0).width());
      for (Pixels p : images) {
        o.write(p.data());
      }
    }
    try (DataOutputStream o = new DataOutputStream(open(dir.resolve(prefix + "-labels-idx1-ubyte" + gz), gzip))) {
      o.writeInt(0x801);
      o.writeInt(labels.length);
      for (int l : labels) {
        o.writeByte(l);
      }
    }
  }

  private static OutputStream open(Path p, boolean gzip) throws IOException {
    OutputStream o = Files.newOutputStream(p);
    return gzip ? new GZIPOutputStream(o) : o;
  }

  /** CIFAR record bytes: label byte(s) then the planar R, G, B planes of a 32x32x3 HWC image. */
  static byte[] cifarRecord(int[] labelBytes, Pixels hwc) {
    byte[] r = new byte[labelBytes.length + 3072];
    for (int i = 0; i < labelBytes.length; i++) {
      r[i] = (byte) labelBytes[i];
    }
    for (int px = 0; px < 1024; px++) {
      for (int c = 0; c < 3; c++) {
        r[labelBytes.length + c * 1024 + px] = hwc.data()[px * 3 + c];
      }
    }
    return r;
  }
}
