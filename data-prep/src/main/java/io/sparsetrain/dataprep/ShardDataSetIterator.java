package io.sparsetrain.dataprep;

import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.hadoop.conf.Configuration;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * A DL4J {@link DataSetIterator} over shard files read in this JVM, shards in order, rows in rank order;
 * batches run on across shard boundaries. Resettable. Not for Spark serialization.
 */
public final class ShardDataSetIterator implements DataSetIterator {
  private static final long serialVersionUID = 1L;

  private final List<String> shardPaths;
  private final transient Configuration conf;
  private final BatchOptions opts;
  private final int numClasses;
  private final int[] shape;
  private final List<String> labels;
  private DataSetPreProcessor preProcessor;
  private transient ShardReader reader;
  private transient BatchAssembler batches;
  private int shard;

  ShardDataSetIterator(Manifest m, List<String> shardPaths, BatchOptions opts, Configuration conf) {
    this.shardPaths = List.copyOf(shardPaths);
    this.conf = conf;
    this.opts = opts;
    this.numClasses = m.numClasses;
    this.shape = ParquetDataSets.fixedShape(m);
    this.labels = List.copyOf(m.classes);
    reset();
  }

  @Override
  public void reset() {
    if (reader != null) {
      reader.close();
    }
    reader = null;
    shard = 0;
    batches = new BatchAssembler(new RowsAcrossShards(), opts, numClasses, shape[0], shape[1], shape[2], 0);
  }

  @Override
  public boolean hasNext() {
    return batches.hasNext();
  }

  @Override
  public DataSet next() {
    DataSet d = batches.next();
    if (preProcessor != null) {
      preProcessor.preProcess(d);
    }
    return d;
  }

  @Override
  public DataSet next(int num) {
    throw new UnsupportedOperationException("batch size is fixed by BatchOptions (" + opts.batchSize() + ")");
  }

  @Override
  public int inputColumns() {
    return shape[0] * shape[1] * shape[2];
  }

  @Override
  public int totalOutcomes() {
    return numClasses;
  }

  @Override
  public boolean resetSupported() {
    return true;
  }

  @Override
  public boolean asyncSupported() {
    return true;
  }

  @Override
  public int batch() {
    return opts.batchSize();
  }

  @Override
  public void setPreProcessor(DataSetPreProcessor preProcessor) {
    this.preProcessor = preProcessor;
  }

  @Override
  public DataSetPreProcessor getPreProcessor() {
    return preProcessor;
  }

  @Override
  public List<String> getLabels() {
    return labels;
  }

  /** Rows of all shards in order, opening each shard when the previous one is exhausted. */
  private final class RowsAcrossShards implements Iterator<ShardRow> {
    private Iterator<ShardRow> current = Collections.emptyIterator();

    @Override
    public boolean hasNext() {
      while (!current.hasNext()) {
        if (reader != null) {
          reader.close();
          reader = null;
        }
        if (shard >= shardPaths.size()) {
          return false;
        }
        reader = ShardReader.open(shardPaths.get(shard++), conf);
        current = reader;
      }
      return true;
    }

    @Override
    public ShardRow next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      return current.next();
    }
  }
}
