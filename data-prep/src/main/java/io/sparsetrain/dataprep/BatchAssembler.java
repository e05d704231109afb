package io.sparsetrain.dataprep;

import io.sparsetrain.dataprep.image.Pixels;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Groups shard rows into DL4J {@link DataSet}s: features float NCHW {@code [batch, C, H, W]}, labels one-hot
 * float {@code [batch, numClasses]}. Normalization and augmentation as in {@link BatchOptions}; the random
 * crop/flip stream is seeded per (options seed, stream index), so results are reproducible.
 */
public final class BatchAssembler implements Iterator<DataSet> {
  private final Iterator<ShardRow> rows;
  private final BatchOptions opts;
  private final int numClasses;
  private final int channels;
  private final int height;
  private final int width;
  private final SplittableRandom rng;
  private final BatchAugmenter augmenter;
  private final float[] scratch;
  private DataSet next;

  /**
   * @param streamIndex distinguishes augmentation streams (the shard index), mixed into the seed
   */
  public BatchAssembler(Iterator<ShardRow> rows, BatchOptions opts, int numClasses, int channels, int height,
      int width, long streamIndex) {
    this.rows = rows;
    this.opts = opts;
    this.numClasses = numClasses;
    this.channels = channels;
    this.height = height;
    this.width = width;
    this.rng = new SplittableRandom(opts.seed() * 0x9E3779B97F4A7C15L + streamIndex);
    float[] mean = opts.meanRaw();
    if (opts.normalization() == BatchOptions.Normalization.MEAN_STD && mean.length != channels
        && mean.length != 1) {
      throw new IllegalArgumentException("MEAN_STD has " + mean.length + " means but images have " + channels
          + " channels");
    }
    this.augmenter = BatchAugmenter.of(opts);
    this.scratch = new float[channels * height * width];
  }

  @Override
  public boolean hasNext() {
    if (next == null) {
      next = assemble();
    }
    return next != null;
  }

  @Override
  public DataSet next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    DataSet d = next;
    next = null;
    return d;
  }

  private DataSet assemble() {
    int b = opts.batchSize();
    int chw = channels * height * width;
    float[] features = new float[b * chw];
    float[] labels = new float[b * numClasses];
    int n = 0;
    while (n < b && rows.hasNext()) {
      ShardRow r = rows.next();
      if (r.height != height || r.width != width || r.channels != channels) {
        throw new DataPrepException("row " + r.source + " is " + r.height + "x" + r.width + "x" + r.channels
            + " but batches need " + height + "x" + width + "x" + channels + " (prep with --resize/--center-crop "
            + "for a fixed size)");
      }
      if (r.label < 0 || r.label >= numClasses) {
        throw new DataPrepException("row " + r.source + " has label " + r.label + " outside 0.." + (numClasses - 1));
      }
      fill(r.pixels(), features, n * chw);
      labels[n * numClasses + r.label] = 1f;
      n++;
    }
    if (n == 0 || (n < b && opts.dropLast())) {
      return null;
    }
    if (n < b) {
      features = java.util.Arrays.copyOf(features, n * chw);
      labels = java.util.Arrays.copyOf(labels, n * numClasses);
    }
    return new DataSet(Nd4j.create(features, new long[] {n, channels, height, width}, 'c'),
        Nd4j.create(labels, new long[] {n, numClasses}, 'c'));
  }

  /** Writes one image, HWC uint8 to CHW float, normalized, then cropped/flipped as {@link BatchAugmenter} does. */
  private void fill(Pixels p, float[] out, int off) {
    float[] mean = opts.meanRaw();
    float[] std = opts.stdRaw();
    BatchOptions.Normalization norm = opts.normalization();
    byte[] d = p.data();
    float[] target = augmenter.isActive() ? scratch : out;
    int base = augmenter.isActive() ? 0 : off;
    for (int c = 0; c < channels; c++) {
      float scale = 1f;
      float shift = 0f;
      if (norm == BatchOptions.Normalization.UNIT) {
        scale = 1f / 255f;
      } else if (norm == BatchOptions.Normalization.MEAN_STD) {
        float m = mean[mean.length == 1 ? 0 : c];
        float s = std[std.length == 1 ? 0 : c];
        scale = 1f / (255f * s);
        shift = -m / s;
      }
      int plane = base + c * height * width;
      for (int i = 0; i < height * width; i++) {
        target[plane + i] = (d[i * channels + c] & 0xff) * scale + shift;
      }
    }
    if (augmenter.isActive()) {
      augmenter.augmentImage(scratch, 0, out, off, channels, height, width, rng);
    }
  }
}
