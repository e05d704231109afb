package io.sparsetrain.dataprep;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

class BatchAugmenterTest {
  private static final int N = 64;
  private static final int C = 2;
  private static final int H = 7;
  private static final int W = 9;

  private static DataSet batch(long seed) {
    Random r = new Random(seed);
    float[] f = new float[N * C * H * W];
    for (int i = 0; i < f.length; i++) {
      f[i] = 1f + r.nextFloat(); // never equal to the pad value
    }
    float[] l = new float[N * 3];
    for (int i = 0; i < N; i++) {
      l[i * 3 + r.nextInt(3)] = 1f;
    }
    return new DataSet(Nd4j.create(f, new long[] {N, C, H, W}, 'c'), Nd4j.create(l, new long[] {N, 3}, 'c'));
  }

  /** The (dy, dx, flip) for which out is src shifted/mirrored with pad elsewhere, or null if none fits. */
  private static int[] explain(float[] src, float[] out, int off, int pad, float padValue) {
    for (int flip = 0; flip < 2; flip++) {
      for (int dy = -pad; dy <= pad; dy++) {
        for (int dx = -pad; dx <= pad; dx++) {
          float[] want = new float[src.length];
          BatchAugmenter.cropFlip(src, off, want, off, C, H, W, dy, dx, flip == 1, new float[] {padValue});
          boolean same = true;
          for (int i = off; i < off + C * H * W && same; i++) {
            same = want[i] == out[i];
          }
          if (same) {
            return new int[] {dy, dx, flip};
          }
        }
      }
    }
    return null;
  }

  @Test
  void everyImageIsAShiftedOrMirroredCopyAndTheDrawsVary() {
    DataSet in = batch(1);
    float[] before = in.getFeatures().dup().data().asFloat();
    BatchAugmenter aug = new BatchAugmenter(2, true, new float[] {-0.5f}, 42);
    DataSet out = aug.augment(in, 3, 17);
    float[] src = in.getFeatures().data().asFloat();
    float[] dst = out.getFeatures().data().asFloat();
    assertArrayEquals(before, src, "the input minibatch is not modified");
    assertArrayEquals(new long[] {N, C, H, W}, out.getFeatures().shape());
    assertSame(in.getLabels(), out.getLabels(), "labels travel with their images");
    Set<String> draws = new HashSet<>();
    int padded = 0;
    for (int i = 0; i < N; i++) {
      int[] d = explain(src, dst, i * C * H * W, 2, -0.5f);
      assertTrue(d != null, "image " + i + " is not a crop/flip of its source");
      draws.add(d[0] + "," + d[1] + "," + d[2]);
      for (int k = i * C * H * W; k < (i + 1) * C * H * W; k++) {
        padded += dst[k] == -0.5f ? 1 : 0;
      }
    }
    assertTrue(draws.size() > 10, "64 images draw many of the 50 crop/flip combinations, got " + draws);
    assertTrue(padded > 0, "shifted crops show the pad value");
  }

  @Test
  void seededByEpochAndIndexOnly() {
    BatchAugmenter aug = new BatchAugmenter(2, true, new float[] {0f}, 42);
    DataSet in = batch(2);
    float[] a = aug.augment(in, 5, 9).getFeatures().data().asFloat();
    float[] b = new BatchAugmenter(2, true, new float[] {0f}, 42).augment(batch(2), 5, 9).getFeatures().data()
        .asFloat();
    assertArrayEquals(a, b, "same (seed, epoch, index): same crops, in any JVM");
    List<float[]> others = new ArrayList<>();
    others.add(aug.augment(in, 6, 9).getFeatures().data().asFloat());
    others.add(aug.augment(in, 5, 10).getFeatures().data().asFloat());
    others.add(new BatchAugmenter(2, true, new float[] {0f}, 43).augment(in, 5, 9).getFeatures().data().asFloat());
    for (float[] o : others) {
      assertFalse(java.util.Arrays.equals(a, o), "another epoch, minibatch or seed draws other crops");
    }
  }

  @Test
  void inactiveAugmenterReturnsTheBatch() {
    DataSet in = batch(3);
    assertSame(in, new BatchAugmenter(0, false, new float[] {0f}, 1).augment(in, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> new BatchAugmenter(-1, true, new float[] {0f}, 1));
  }

  @Test
  void padValueIsTheNormalizedZeroPixel() {
    BatchOptions ms = BatchOptions.builder()
        .meanStd(new float[] {0.5f, 0.25f}, new float[] {0.2f, 0.5f}).build();
    float[] v = BatchAugmenter.zeroPixel(ms);
    assertEquals(-2.5f, v[0], 1e-6);
    assertEquals(-0.5f, v[1], 1e-6);
    assertArrayEquals(new float[] {0f}, BatchAugmenter.zeroPixel(BatchOptions.builder().build()));
  }

  @Test
  void assemblerCropsNormalizedImagesAsIfCroppedBeforeNormalizing() {
    // one all-white 4x4 single-channel image: crop offsets show as rows/columns of the zero pixel's value
    byte[] px = new byte[16];
    java.util.Arrays.fill(px, (byte) 255);
    BatchOptions opts = BatchOptions.builder().batchSize(1)
        .meanStd(new float[] {0.5f}, new float[] {0.25f}).randomCrop(1).seed(3).build();
    int paddedPixels = 0;
    for (int s = 0; s < 20; s++) {
      ShardRow row = new ShardRow(s, "img" + s, 0, "a", 4, 4, 1, ShardSchema.FORMAT_RAW, px);
      DataSet d = new BatchAssembler(List.of(row).iterator(), opts, 2, 1, 4, 4, s).next();
      for (float f : d.getFeatures().data().asFloat()) {
        assertTrue(f == 2f || f == -2f, "white (1-0.5)/0.25 = 2 or padded zero (0-0.5)/0.25 = -2, got " + f);
        paddedPixels += f == -2f ? 1 : 0;
      }
    }
    assertTrue(paddedPixels > 0, "some of 20 crops are shifted");
  }
}
