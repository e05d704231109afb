package io.sparsetrain.dataprep.image;

import java.io.Serializable;
import java.util.Arrays;

/**
 * A decoded image: uint8 samples in HWC order (row-major, channels interleaved; RGB order when
 * {@code channels == 3}). A plain class rather than a record because it travels through Spark's Kryo.
 */
public final class Pixels implements Serializable {
  private static final long serialVersionUID = 1L;

  private int height;
  private int width;
  private int channels;
  private byte[] data;

  public Pixels(int height, int width, int channels, byte[] data) {
    if (height <= 0 || width <= 0 || (channels != 1 && channels != 3)) {
      throw new IllegalArgumentException(
          "image needs height, width > 0 and channels 1 or 3, got " + height + "x" + width + "x" + channels);
    }
    if (data.length != height * width * channels) {
      throw new IllegalArgumentException("HWC data of " + height + "x" + width + "x" + channels + " needs "
          + (height * width * channels) + " bytes, got " + data.length);
    }
    this.height = height;
    this.width = width;
    this.channels = channels;
    this.data = data;
  }

  public int height() {
    return height;
  }

  public int width() {
    return width;
  }

  public int channels() {
    return channels;
  }

  /** HWC uint8 samples; not copied. */
  public byte[] data() {
    return data;
  }

  /** Sample at row y, column x, channel c, as 0..255. */
  public int get(int y, int x, int c) {
    return data[(y * width + x) * channels + c] & 0xff;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Pixels p && p.height == height && p.width == width && p.channels == channels
        && Arrays.equals(p.data, data);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * (31 * height + width) + channels) + Arrays.hashCode(data);
  }

  @Override
  public String toString() {
    return "Pixels[" + height + "x" + width + "x" + channels + "]";
  }
}
