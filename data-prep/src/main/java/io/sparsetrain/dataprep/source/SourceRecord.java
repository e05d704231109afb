package io.sparsetrain.dataprep.source;

import io.sparsetrain.dataprep.image.Pixels;
import java.io.Serializable;

/**
 * One input image before conversion: its stable id ({@link #source}, relative to {@code --input}), its label
 * index, and either the Hadoop path of an encoded file (decoded later, on an executor) or already-parsed pixels
 * (IDX, CIFAR). A plain mutable class because it travels through Spark's Kryo serializer.
 */
public final class SourceRecord implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Stable record id: {@code train/cat/img 1.JPEG} or {@code train-images-idx3-ubyte.gz#17}. */
  public String source;
  public int label;
  /** Full Hadoop path of an encoded image file, or null when {@link #pixels} is set. */
  public String path;
  /** Parsed uint8 HWC pixels, or null when {@link #path} is set. */
  public Pixels pixels;
  /** Position in the split's shuffled order (set by the sharder). */
  public long rank;

  public SourceRecord() {}

  public static SourceRecord file(String source, int label, String path) {
    SourceRecord r = new SourceRecord();
    r.source = source;
    r.label = label;
    r.path = path;
    return r;
  }

  public static SourceRecord decoded(String source, int label, Pixels pixels) {
    SourceRecord r = new SourceRecord();
    r.source = source;
    r.label = label;
    r.pixels = pixels;
    return r;
  }
}
