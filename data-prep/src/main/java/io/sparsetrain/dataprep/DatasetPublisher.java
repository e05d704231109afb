package io.sparsetrain.dataprep;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Atomic-looking publication of a dataset directory through the Hadoop FileSystem API (file:// and s3a://).
 * Everything is written under a hidden sibling {@code <parent>/.<name>.tmp-<runId>}; {@link #publish} then
 * removes a replaced dataset (manifest first), renames the temporary directory to {@code <output>} and finally
 * writes {@code manifest.json} (itself via a temporary name and a rename). Readers require the manifest, so a
 * killed job never leaves a dataset that looks finished: at worst a hidden temporary directory, or an output
 * directory without a manifest. On s3a a rename is a copy, which is why the manifest goes in last, separately.
 */
final class DatasetPublisher {
  private final FileSystem fs;
  private final Path output;
  private final Path tmp;
  private final String runId;

  DatasetPublisher(String output, String runId, Configuration conf) throws IOException {
    Path out = new Path(output);
    this.fs = out.getFileSystem(conf);
    this.output = fs.makeQualified(out);
    if (this.output.getParent() == null) {
      throw new DataPrepException("--output " + PrepOptions.redact(output) + " must not be a file system or "
          + "bucket root; name a directory inside it");
    }
    this.runId = runId;
    this.tmp = new Path(this.output.getParent(), "." + this.output.getName() + ".tmp-" + runId);
  }

  Path output() {
    return output;
  }

  /** The temporary dataset directory to write into. */
  Path tmp() {
    return tmp;
  }

  FileSystem fs() {
    return fs;
  }

  /**
   * Before any work: refuses an existing output without {@code overwrite}, and reports temporary directories
   * that killed runs left beside it (removed when overwriting).
   */
  void checkOutput(boolean overwrite, java.util.function.Consumer<String> progress) throws IOException {
    if (fs.exists(output)) {
      if (!overwrite) {
        throw new DataPrepException("--output " + PrepOptions.redact(output.toString()) + " already exists "
            + "(pass --overwrite to replace it)");
      }
      if (fs.getFileStatus(output).isFile()) {
        throw new DataPrepException("--output " + PrepOptions.redact(output.toString()) + " is a file, not a "
            + "dataset directory; refusing to replace it");
      }
    }
    Path parent = output.getParent();
    if (fs.exists(parent)) {
      FileStatus[] stale = fs.globStatus(new Path(parent, "." + output.getName() + ".tmp-*"));
      if (stale != null) {
        for (FileStatus s : stale) {
          if (overwrite) {
            progress.accept("removing temporary directory of an interrupted run: "
                + PrepOptions.redact(s.getPath().toString()));
            fs.delete(s.getPath(), true);
          } else {
            progress.accept("note: temporary directory of an interrupted run (not a dataset; --overwrite "
                + "removes it): " + PrepOptions.redact(s.getPath().toString()));
          }
        }
      }
    }
  }

  /** Moves the finished temporary directory to the output and writes the manifest last. */
  void publish(boolean overwrite, String manifestJson) throws IOException {
    if (fs.exists(output)) {
      if (!overwrite) {
        throw new DataPrepException("--output " + PrepOptions.redact(output.toString()) + " appeared while "
            + "this run was writing (pass --overwrite to replace it)");
      }
      fs.delete(new Path(output, Manifest.FILE_NAME), false); // unfinished from this instant on
      if (!fs.delete(output, true)) {
        throw new IOException("cannot delete the dataset being replaced: " + output);
      }
    }
    if (!fs.rename(tmp, output)) {
      throw new IOException("cannot rename " + tmp + " to " + output);
    }
    Path manifestTmp = new Path(output, "." + Manifest.FILE_NAME + ".tmp-" + runId);
    try (OutputStream o = fs.create(manifestTmp, false)) {
      o.write(manifestJson.getBytes(StandardCharsets.UTF_8));
    }
    if (!fs.rename(manifestTmp, new Path(output, Manifest.FILE_NAME))) {
      throw new IOException("cannot rename " + manifestTmp + " to " + Manifest.FILE_NAME);
    }
  }

  /** Best-effort removal of the temporary directory after a failure. */
  void abort() {
    try {
      fs.delete(tmp, true);
    } catch (IOException | RuntimeException e) {
      // the directory is hidden and named as temporary; a later --overwrite run removes it
    }
  }
}
