package io.sparsetrain.dataprep;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;

/**
 * Reads the rows of one shard file in stored (rank) order with parquet-hadoop directly, without Spark: used
 * inside executor tasks by {@link ParquetDataSets} and on its own by the local iterator and tests.
 */
public final class ShardReader implements Iterator<ShardRow>, Closeable {
  private final String path;
  private final ParquetReader<Group> reader;
  private Group next;
  private boolean closed;

  private ShardReader(String path, ParquetReader<Group> reader) {
    this.path = path;
    this.reader = reader;
  }

  /** Opens a shard (local path or any Hadoop URI, e.g. s3a://). */
  public static ShardReader open(String path, Configuration conf) {
    try {
      return new ShardReader(path, ParquetReader.builder(new GroupReadSupport(), new Path(path)).withConf(conf)
          .build());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open shard " + PrepOptions.redact(path), e);
    }
  }

  @Override
  public boolean hasNext() {
    if (next == null && !closed) {
      try {
        next = reader.read();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read shard " + PrepOptions.redact(path), e);
      }
      if (next == null) {
        close(); // exhausted: release the file (executor tasks never call close themselves)
      }
    }
    return next != null;
  }

  @Override
  public ShardRow next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    Group g = next;
    next = null;
    return new ShardRow(g.getLong(ShardSchema.RANK, 0), g.getString(ShardSchema.SOURCE, 0),
        g.getInteger(ShardSchema.LABEL, 0), g.getString(ShardSchema.LABEL_NAME, 0),
        g.getInteger(ShardSchema.HEIGHT, 0), g.getInteger(ShardSchema.WIDTH, 0),
        g.getInteger(ShardSchema.CHANNELS, 0), g.getString(ShardSchema.FORMAT, 0),
        g.getBinary(ShardSchema.IMAGE, 0).getBytes());
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      reader.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
