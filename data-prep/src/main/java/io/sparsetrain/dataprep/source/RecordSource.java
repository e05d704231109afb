package io.sparsetrain.dataprep.source;

import io.sparsetrain.dataprep.DataPrepException;
import io.sparsetrain.dataprep.PrepOptions;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * An input collection listed on the driver: the class index and the splits' records. Folder inputs list file
 * paths only (the executors decode them); IDX and CIFAR are parsed on the driver, whose records carry pixels.
 */
public interface RecordSource {
  /** Class names in label-index order (the class index). */
  List<String> classNames();

  /** The splits in name order, each with its records; bad records go to {@code bad}. */
  List<SplitListing> list(BadRecords bad) throws IOException;

  /** The reader for {@code opts.format()}. */
  static RecordSource of(PrepOptions opts, Configuration conf) throws IOException {
    switch (opts.format()) {
      case FOLDERS:
        return new FolderSource(opts.input(), opts.requestedClassNames(), conf);
      case IDX:
        return new IdxSource(opts.input(), opts.requestedClassNames(), conf);
      case CIFAR10:
        return new CifarSource(opts.input(), false, opts.requestedClassNames(), conf);
      case CIFAR100:
        return new CifarSource(opts.input(), true, opts.requestedClassNames(), conf);
      default:
        throw new IllegalStateException("unhandled format " + opts.format());
    }
  }

  /** The status of {@code --input}, or an error naming it when it does not exist. */
  static FileStatus inputStatus(String input, Configuration conf) throws IOException {
    Path p = new Path(input);
    FileSystem fs = p.getFileSystem(conf);
    if (!fs.exists(p)) {
      throw new DataPrepException("--input " + PrepOptions.redact(input) + " does not exist");
    }
    return fs.getFileStatus(p);
  }

  /** Reads a whole (small) file. */
  static byte[] readAll(FileSystem fs, Path p) throws IOException {
    try (InputStream in = fs.open(p)) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      in.transferTo(out);
      return out.toByteArray();
    }
  }
}
