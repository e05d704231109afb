package io.sparsetrain.jobs.sparsify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.dataprep.BatchAugmenter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

class EpochBatchesTest {

  /** Minibatch i: 4 random 1x8x8 images, every label column = i (identifies the minibatch). */
  static List<DataSet> batches(int n) {
    Nd4j.getRandom().setSeed(7);
    List<DataSet> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new DataSet(Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 4, 1, 8, 8),
          Nd4j.valueArrayOf(new long[] {4, 3}, (float) i)));
    }
    return out;
  }

  static List<Integer> epoch(EpochBatches it, List<DataSet> source, List<DataSet> seen) {
    List<Integer> order = new ArrayList<>();
    while (it.hasNext()) {
      DataSet d = it.next();
      int id = (int) d.getLabels().getFloat(0, 0);
      order.add(id);
      seen.add(d);
      assertEquals(source.get(id).getLabels(), d.getLabels());
    }
    return order;
  }

  @Test
  void everyEpochVisitsEachMinibatchOnceInAFreshOrderWithFreshAugmentation() {
    List<DataSet> source = batches(12);
    List<DataSet> copies = new ArrayList<>();
    source.forEach(d -> copies.add(d.copy()));
    EpochBatches it = new EpochBatches(source, new BatchAugmenter(2, true, new float[] {0f}, 42), 42);
    List<DataSet> seen0 = new ArrayList<>();
    List<Integer> e0 = epoch(it, source, seen0);
    assertThrows(java.util.NoSuchElementException.class, it::next);
    it.reset();
    List<DataSet> seen1 = new ArrayList<>();
    List<Integer> e1 = epoch(it, source, seen1);
    assertEquals(1, it.epoch());
    Set<Integer> all = new HashSet<>(e0);
    assertEquals(12, all.size(), "a permutation: " + e0);
    assertEquals(all, new HashSet<>(e1));
    assertNotEquals(e0, e1, "a fresh order each epoch");
    int changed = 0;
    for (DataSet d : seen0) {
      changed += d.getFeatures().equals(source.get((int) d.getLabels().getFloat(0, 0)).getFeatures()) ? 0 : 1;
    }
    assertTrue(changed >= 10, "crops/flips applied to " + changed + " of 12 minibatches");
    for (int i = 0; i < source.size(); i++) {
      assertEquals(copies.get(i).getFeatures(), source.get(i).getFeatures(), "stored minibatch " + i + " unchanged");
    }
    // the same seed replays the same epochs
    EpochBatches again = new EpochBatches(source, new BatchAugmenter(2, true, new float[] {0f}, 42), 42);
    List<DataSet> replay = new ArrayList<>();
    assertEquals(e0, epoch(again, source, replay));
    for (int i = 0; i < replay.size(); i++) {
      assertEquals(seen0.get(i).getFeatures(), replay.get(i).getFeatures());
    }
    assertFalse(new EpochBatches(source, new BatchAugmenter(2, true, new float[] {0f}, 43), 43).next().getFeatures()
        .equals(seen0.get(0).getFeatures()), "another seed, another first minibatch");
  }
}
