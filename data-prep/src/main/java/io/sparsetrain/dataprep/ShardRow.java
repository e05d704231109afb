package io.sparsetrain.dataprep;

import io.sparsetrain.dataprep.image.BadImageException;
import io.sparsetrain.dataprep.image.ImageCodec;
import io.sparsetrain.dataprep.image.ImageTransforms;
import io.sparsetrain.dataprep.image.Pixels;

/** One row of a shard as read back (see {@link ShardSchema}). */
public final class ShardRow {
  public final long rank;
  public final String source;
  public final int label;
  public final String labelName;
  public final int height;
  public final int width;
  public final int channels;
  public final String format;
  public final byte[] image;

  public ShardRow(long rank, String source, int label, String labelName, int height, int width, int channels,
      String format, byte[] image) {
    this.rank = rank;
    this.source = source;
    this.label = label;
    this.labelName = labelName;
    this.height = height;
    this.width = width;
    this.channels = channels;
    this.format = format;
    this.image = image;
  }

  /** The image as uint8 HWC pixels with {@link #channels} channels (decoding an encoded payload). */
  public Pixels pixels() {
    if (ShardSchema.FORMAT_RAW.equals(format)) {
      return new Pixels(height, width, channels, image);
    }
    try {
      Pixels p = ImageCodec.decode(image).pixels;
      return ImageTransforms.convertChannels(p, channels);
    } catch (BadImageException e) {
      throw new DataPrepException("row " + source + " (rank " + rank + "): " + e.getMessage(), e);
    }
  }
}
