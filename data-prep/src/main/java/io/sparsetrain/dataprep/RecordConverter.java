package io.sparsetrain.dataprep;

import io.sparsetrain.dataprep.image.BadImageException;
import io.sparsetrain.dataprep.image.ImageCodec;
import io.sparsetrain.dataprep.image.ImageTransforms;
import io.sparsetrain.dataprep.image.Pixels;
import io.sparsetrain.dataprep.source.SourceRecord;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * Turns one {@link SourceRecord} into one shard row, on an executor: reads and decodes the file (folder inputs),
 * converts channels, resizes (bilinear), center-crops, and lays out the payload. Serializable; built once on
 * the driver from the options.
 */
final class RecordConverter implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int channels;
  private final TargetSize resize;
  private final TargetSize centerCrop;
  private final Payload payload;
  private final List<String> classNames;

  RecordConverter(PrepOptions opts, List<String> classNames) {
    this.channels = opts.channels();
    this.resize = opts.resize();
    this.centerCrop = opts.centerCrop();
    this.payload = opts.payload();
    this.classNames = List.copyOf(classNames);
  }

  /** The shard row of {@code r}; a bad image throws {@link BadImageException} with the reason. */
  Row convert(SourceRecord r, Configuration conf) throws BadImageException, IOException {
    byte[] encoded = null;
    String format;
    Pixels px;
    if (r.path != null) {
      Path p = new Path(r.path);
      FileSystem fs = p.getFileSystem(conf);
      try (InputStream in = fs.open(p)) {
        encoded = in.readAllBytes();
      }
      ImageCodec.Decoded d = ImageCodec.decode(encoded);
      px = d.pixels;
      format = d.format;
    } else {
      px = r.pixels;
      format = null;
    }
    Pixels out = transform(px);
    byte[] image;
    String fmt;
    if (payload == Payload.RAW) {
      image = out.data();
      fmt = ShardSchema.FORMAT_RAW;
    } else if (encoded != null && out == px) {
      image = encoded; // untouched: keep the original file's bytes
      fmt = format;
    } else {
      image = ImageCodec.encodePng(out);
      fmt = "png";
    }
    return RowFactory.create(r.rank, r.source, r.label, classNames.get(r.label), out.height(), out.width(),
        out.channels(), fmt, image);
  }

  int classCount() {
    return classNames.size();
  }

  String className(int label) {
    return classNames.get(label);
  }

  /** Channel conversion, then resize, then center crop; returns {@code px} itself when nothing applies. */
  Pixels transform(Pixels px) {
    Pixels out = ImageTransforms.convertChannels(px, channels);
    if (resize != null) {
      out = resize.isShorterSide() ? ImageTransforms.resizeShorterSide(out, resize.height())
          : ImageTransforms.resize(out, resize.height(), resize.width());
    }
    if (centerCrop != null) {
      out = ImageTransforms.centerCrop(out, centerCrop.height(), centerCrop.width());
    }
    return out;
  }
}
