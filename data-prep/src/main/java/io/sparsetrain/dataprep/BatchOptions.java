package io.sparsetrain.dataprep;

import java.io.Serializable;
import java.util.Arrays;

/**
 * How shard rows become DL4J minibatches: batch size (images), normalization, optional training augmentation
 * (random crop after zero padding, horizontal flip with probability 0.5) driven by {@link #seed()}, and whether
 * a last partial batch is dropped. Immutable; build with {@link #builder()}.
 */
public final class BatchOptions implements Serializable {
  private static final long serialVersionUID = 1L;
  public static final int DEFAULT_BATCH_SIZE = 64;
  public static final long DEFAULT_SEED = 42L;

  /** Pixel scaling applied to uint8 samples. */
  public enum Normalization {
    /** Samples as 0..255 floats. */
    NONE,
    /** x / 255, in [0, 1]. */
    UNIT,
    /** (x / 255 - mean[c]) / std[c], mean and std per channel on the [0, 1] scale. */
    MEAN_STD
  }

  private final int batchSize;
  private final Normalization normalization;
  private final float[] mean;
  private final float[] std;
  private final int randomCropPadding;
  private final boolean horizontalFlip;
  private final long seed;
  private final boolean dropLast;

  private BatchOptions(Builder b) {
    this.batchSize = b.batchSize;
    this.normalization = b.normalization;
    this.mean = b.mean == null ? null : b.mean.clone();
    this.std = b.std == null ? null : b.std.clone();
    this.randomCropPadding = b.randomCropPadding;
    this.horizontalFlip = b.horizontalFlip;
    this.seed = b.seed;
    this.dropLast = b.dropLast;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Batch size 64, [0,1] scaling, no augmentation: for evaluation. */
  public static BatchOptions evaluation() {
    return builder().build();
  }

  public int batchSize() {
    return batchSize;
  }

  public Normalization normalization() {
    return normalization;
  }

  /** Per-channel mean on the [0,1] scale (MEAN_STD only), a copy. */
  public float[] mean() {
    return mean == null ? null : mean.clone();
  }

  public float[] std() {
    return std == null ? null : std.clone();
  }

  /** Zero padding in pixels on each side before a random crop back to the image size; 0 = no crop. */
  public int randomCropPadding() {
    return randomCropPadding;
  }

  public boolean horizontalFlip() {
    return horizontalFlip;
  }

  /** Seed of the augmentation; use a different one per epoch for different crops/flips per epoch. */
  public long seed() {
    return seed;
  }

  public boolean dropLast() {
    return dropLast;
  }

  /**
   * The same options without random crop and flip: for caching plain minibatches that are augmented later with
   * {@code BatchAugmenter.of(this)}.
   */
  public BatchOptions withoutAugmentation() {
    Builder b = new Builder().batchSize(batchSize).normalization(normalization).seed(seed).dropLast(dropLast);
    b.mean = mean;
    b.std = std;
    return b.build();
  }

  float[] meanRaw() {
    return mean;
  }

  float[] stdRaw() {
    return std;
  }

  @Override
  public String toString() {
    return "BatchOptions{batchSize=" + batchSize + ", normalization=" + normalization
        + (normalization == Normalization.MEAN_STD ? ", mean=" + Arrays.toString(mean) + ", std="
        + Arrays.toString(std) : "") + ", randomCropPadding=" + randomCropPadding + ", horizontalFlip="
        + horizontalFlip + ", seed=" + seed + ", dropLast=" + dropLast + "}";
  }

  /** Builder; {@link #build()} validates. */
  public static final class Builder {
    private int batchSize = DEFAULT_BATCH_SIZE;
    private Normalization normalization = Normalization.UNIT;
    private float[] mean;
    private float[] std;
    private int randomCropPadding;
    private boolean horizontalFlip;
    private long seed = DEFAULT_SEED;
    private boolean dropLast;

    public Builder batchSize(int v) {
      this.batchSize = v;
      return this;
    }

    public Builder normalization(Normalization v) {
      this.normalization = v;
      return this;
    }

    /** Sets MEAN_STD normalization with per-channel mean and std on the [0,1] scale. */
    public Builder meanStd(float[] mean, float[] std) {
      this.normalization = Normalization.MEAN_STD;
      this.mean = mean == null ? null : mean.clone();
      this.std = std == null ? null : std.clone();
      return this;
    }

    public Builder randomCrop(int padding) {
      this.randomCropPadding = padding;
      return this;
    }

    public Builder horizontalFlip(boolean v) {
      this.horizontalFlip = v;
      return this;
    }

    public Builder seed(long v) {
      this.seed = v;
      return this;
    }

    public Builder dropLast(boolean v) {
      this.dropLast = v;
      return this;
    }

    public BatchOptions build() {
      if (batchSize < 1) {
        throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
      }
      if (randomCropPadding < 0) {
        throw new IllegalArgumentException("randomCropPadding must be >= 0, got " + randomCropPadding);
      }
      if (normalization == null) {
        throw new IllegalArgumentException("normalization must not be null");
      }
      if (normalization == Normalization.MEAN_STD) {
        if (mean == null || std == null || mean.length != std.length || mean.length == 0) {
          throw new IllegalArgumentException("MEAN_STD needs mean and std of equal, non-zero length, got mean="
              + Arrays.toString(mean) + ", std=" + Arrays.toString(std));
        }
        for (float s : std) {
          if (!(s > 0)) {
            throw new IllegalArgumentException("std must be > 0, got " + Arrays.toString(std));
          }
        }
      }
      return new BatchOptions(this);
    }
  }
}
