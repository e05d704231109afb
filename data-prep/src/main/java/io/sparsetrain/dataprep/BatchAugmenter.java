package io.sparsetrain.dataprep;

import java.io.Serializable;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Training augmentation on already assembled float minibatches ({@code [n, C, H, W]}, normalized): random
 * crop after padding (the padding takes the value a zero pixel has after normalization, so cropping a normalized
 * image equals normalizing a cropped one) and horizontal flip with probability 0.5.
 *
 * <p>This lets a job cache plain minibatches once and draw fresh crops every epoch: {@link #augment} is seeded
 * by (seed, epoch, batch index) only, so the result does not depend on which executor runs it, on retries, or
 * on resuming. {@link BatchAssembler} uses the same per-image transform when it augments at read time.
 */
public final class BatchAugmenter implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int padding;
  private final boolean flip;
  private final float[] padValue;
  private final long seed;

  /**
   * @param padding zero-pixel padding on each side before a random crop back to the image size, 0 = no crop
   * @param flip horizontal flip with probability 0.5
   * @param padValue per-channel value of a zero pixel after normalization (length 1 = all channels)
   * @param seed run seed
   */
  public BatchAugmenter(int padding, boolean flip, float[] padValue, long seed) {
    if (padding < 0) {
      throw new IllegalArgumentException("padding must be >= 0, got " + padding);
    }
    if (padValue == null || padValue.length == 0) {
      throw new IllegalArgumentException("padValue needs at least one value");
    }
    this.padding = padding;
    this.flip = flip;
    this.padValue = padValue.clone();
    this.seed = seed;
  }

  /** The augmentation {@code opts} asks for, with the padding value its normalization gives a zero pixel. */
  public static BatchAugmenter of(BatchOptions opts) {
    return new BatchAugmenter(opts.randomCropPadding(), opts.horizontalFlip(), zeroPixel(opts), opts.seed());
  }

  /** Per-channel value of a zero pixel after {@code opts}' normalization. */
  static float[] zeroPixel(BatchOptions opts) {
    if (opts.normalization() != BatchOptions.Normalization.MEAN_STD) {
      return new float[] {0f};
    }
    float[] mean = opts.meanRaw();
    float[] std = opts.stdRaw();
    float[] v = new float[Math.max(mean.length, std.length)];
    for (int c = 0; c < v.length; c++) {
      v[c] = -mean[mean.length == 1 ? 0 : c] / std[std.length == 1 ? 0 : c];
    }
    return v;
  }

  /** True when this augmenter changes anything. */
  public boolean isActive() {
    return padding > 0 || flip;
  }

  /**
   * A new minibatch with fresh crops/flips for (epoch, batchIndex); labels are shared with {@code batch}, whose
   * arrays are not modified. Returns {@code batch} itself when nothing is to be done.
   */
  public DataSet augment(DataSet batch, long epoch, long batchIndex) {
    if (!isActive()) {
      return batch;
    }
    INDArray f = batch.getFeatures();
    if (f.rank() != 4) {
      throw new IllegalArgumentException("augmentation needs [n, C, H, W] features, got shape "
          + java.util.Arrays.toString(f.shape()));
    }
    int n = (int) f.size(0);
    int channels = (int) f.size(1);
    int height = (int) f.size(2);
    int width = (int) f.size(3);
    float[] src = f.dup('c').data().asFloat();
    float[] dst = new float[src.length];
    SplittableRandom rng = new SplittableRandom(mix(seed, epoch, batchIndex));
    int chw = channels * height * width;
    for (int i = 0; i < n; i++) {
      augmentImage(src, i * chw, dst, i * chw, channels, height, width, rng);
    }
    DataSet out = new DataSet(Nd4j.create(dst, new long[] {n, channels, height, width}, 'c'), batch.getLabels(),
        batch.getFeaturesMaskArray(), batch.getLabelsMaskArray());
    return out;
  }

  /**
   * Draws one image's crop offsets and flip from {@code rng} (in the order {@link BatchAssembler} has always drawn
   * them) and writes the CHW image at {@code srcOff} of {@code src}, so transformed, at {@code dstOff} of
   * {@code dst}.
   */
  void augmentImage(float[] src, int srcOff, float[] dst, int dstOff, int channels, int height, int width,
      SplittableRandom rng) {
    int dy = 0;
    int dx = 0;
    if (padding > 0) {
      dy = rng.nextInt(2 * padding + 1) - padding; // crop offset inside the padded image
      dx = rng.nextInt(2 * padding + 1) - padding;
    }
    boolean f = flip && rng.nextBoolean();
    cropFlip(src, srcOff, dst, dstOff, channels, height, width, dy, dx, f, padValue);
  }

  /**
   * Copies one CHW image from {@code src} to {@code dst}, shifted by (dy, dx) (pixels outside take
   * {@code padValue[c]}) and mirrored when {@code flip}.
   */
  static void cropFlip(float[] src, int srcOff, float[] dst, int dstOff, int channels, int height, int width,
      int dy, int dx, boolean flip, float[] padValue) {
    for (int c = 0; c < channels; c++) {
      float pad = padValue[padValue.length == 1 ? 0 : c];
      int plane = c * height * width;
      for (int y = 0; y < height; y++) {
        int sy = y + dy;
        int row = dstOff + plane + y * width;
        if (sy < 0 || sy >= height) {
          java.util.Arrays.fill(dst, row, row + width, pad);
          continue;
        }
        int srow = srcOff + plane + sy * width;
        for (int x = 0; x < width; x++) {
          int sx = (flip ? width - 1 - x : x) + dx;
          dst[row + x] = sx < 0 || sx >= width ? pad : src[srow + sx];
        }
      }
    }
  }

  private static long mix(long seed, long epoch, long batchIndex) {
    long h = seed * 0x9E3779B97F4A7C15L;
    h = (h ^ (h >>> 31)) + epoch * 0xBF58476D1CE4E5B9L;
    h = (h ^ (h >>> 29)) + batchIndex * 0x94D049BB133111EBL;
    return h ^ (h >>> 32);
  }
}
