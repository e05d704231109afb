package io.sparsetrain.jobs.sparsify;

import io.sparsetrain.dataprep.BatchAugmenter;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * In-memory minibatches for the driver-side STR-BN run with the train job's augmentation: every {@link #reset()}
 * starts an epoch that visits the minibatches in a fresh order (seeded by the seed and the epoch) and crops/flips
 * each afresh ({@link BatchAugmenter}, seeded by epoch and position). The stored minibatches are never modified.
 */
final class EpochBatches implements DataSetIterator {
  private static final long serialVersionUID = 1L;

  private final List<DataSet> batches;
  private final BatchAugmenter augmenter;
  private final long seed;
  private int[] order;
  private int epoch = -1;
  private int next;

  EpochBatches(List<DataSet> batches, BatchAugmenter augmenter, long seed) {
    if (batches.isEmpty()) {
      throw new IllegalArgumentException("no minibatches");
    }
    this.batches = List.copyOf(batches);
    this.augmenter = augmenter;
    this.seed = seed;
    reset();
  }

  /** The epoch the iterator is in: 0 after construction, one more per {@link #reset()}. */
  int epoch() {
    return epoch;
  }

  @Override
  public void reset() {
    epoch++;
    next = 0;
    order = new int[batches.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch);
    for (int i = order.length - 1; i > 0; i--) { // Fisher-Yates
      int j = rng.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  }

  @Override
  public boolean hasNext() {
    return next < order.length;
  }

  @Override
  public DataSet next() {
    if (!hasNext()) {
      throw new NoSuchElementException("epoch " + epoch + " has " + order.length + " minibatches");
    }
    int position = next++;
    return augmenter.augment(batches.get(order[position]), epoch, position);
  }

  @Override
  public DataSet next(int num) {
    throw new UnsupportedOperationException("minibatches are fixed; use next()");
  }

  @Override
  public int inputColumns() {
    return (int) batches.get(0).getFeatures().length() / batches.get(0).numExamples();
  }

  @Override
  public int totalOutcomes() {
    return (int) batches.get(0).getLabels().size(1);
  }

  @Override
  public boolean resetSupported() {
    return true;
  }

  @Override
  public boolean asyncSupported() {
    return false;
  }

  @Override
  public int batch() {
    return batches.get(0).numExamples();
  }

  @Override
  public void setPreProcessor(DataSetPreProcessor preProcessor) {
    throw new UnsupportedOperationException("the minibatches are already normalised");
  }

  @Override
  public DataSetPreProcessor getPreProcessor() {
    return null;
  }

  @Override
  public List<String> getLabels() {
    return null;
  }
}
