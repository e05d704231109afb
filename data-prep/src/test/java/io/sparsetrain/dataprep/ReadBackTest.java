package io.sparsetrain.dataprep;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.dataprep.image.Pixels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.api.java.JavaRDD;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;

/** Shards back to DL4J DataSets: on the executors (RDD) and locally (iterator), with normalization/augmentation. */
class ReadBackTest {
  @TempDir
  static Path tmp;
  static String dataset;
  static final int N = 130;

  @BeforeAll
  static void prep() throws Exception {
    Path in = tmp.resolve("cifar");
    java.nio.file.Files.createDirectories(in);
    Random rnd = new Random(5);
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    for (int i = 0; i < N; i++) {
      bytes.write(Fixtures.cifarRecord(new int[] {i % 10}, Fixtures.pixels(rnd, 32, 32, 3)));
    }
    java.nio.file.Files.write(in.resolve("data_batch_1.bin"), bytes.toByteArray());
    dataset = tmp.resolve("out").toString();
    Fixtures.prep(PrepOptions.builder().format(InputFormat.CIFAR10).input(in.toString()).output(dataset).shards(3)
        .build());
  }

  /** Per-batch summary computed on the executors: examples, sum of features, per-class label counts. */
  static List<double[]> summarize(JavaRDD<DataSet> rdd) {
    return rdd.map(d -> {
      double[] s = new double[3 + 10];
      s[0] = d.numExamples();
      s[1] = d.getFeatures().sumNumber().doubleValue();
      s[2] = d.getFeatures().rank() * 1000 + d.getFeatures().size(1) * 100 + d.getFeatures().size(2);
      double[] perClass = d.getLabels().sum(0).toDoubleVector();
      System.arraycopy(perClass, 0, s, 3, 10);
      return s;
    }).collect();
  }

  @Test
  void executorBatchesCoverEveryRowOnceAsNchw() {
    BatchOptions opts = BatchOptions.builder().batchSize(16).build();
    JavaRDD<DataSet> rdd = ParquetDataSets.dataSets(Fixtures.spark(), dataset, "train", opts);
    assertEquals(3, rdd.getNumPartitions(), "one partition per shard");
    List<double[]> batches = summarize(rdd);
    double examples = 0;
    double[] perClass = new double[10];
    for (double[] b : batches) {
      examples += b[0];
      assertEquals(4 * 1000 + 3 * 100 + 32, b[2], "features [batch, 3, 32, 32]");
      for (int c = 0; c < 10; c++) {
        perClass[c] += b[3 + c];
      }
    }
    assertEquals(N, examples);
    assertArrayEquals(new double[] {13, 13, 13, 13, 13, 13, 13, 13, 13, 13}, perClass);
  }

  @Test
  void localIteratorMatchesPixelsAndNormalization() {
    ShardDataSetIterator it = ParquetDataSets.localIterator(dataset, "train",
        BatchOptions.builder().batchSize(50).meanStd(new float[] {0.5f, 0.4f, 0.3f}, new float[] {0.2f, 0.25f, 0.3f})
            .build(), Fixtures.conf());
    assertEquals(10, it.totalOutcomes());
    assertEquals(3 * 32 * 32, it.inputColumns());
    Manifest m = Manifest.read(dataset, Fixtures.conf());
    List<ShardRow> rows = new ArrayList<>();
    for (String p : m.shardPaths("train")) {
      ShardReader r = ShardReader.open(p, Fixtures.conf());
      r.forEachRemaining(rows::add);
    }
    int seen = 0;
    List<Integer> sizes = new ArrayList<>();
    while (it.hasNext()) {
      DataSet d = it.next();
      sizes.add(d.numExamples());
      for (int i = 0; i < d.numExamples(); i++, seen++) {
        ShardRow row = rows.get(seen);
        Pixels px = row.pixels();
        assertEquals(1f, d.getLabels().getFloat(i, row.label));
        int y = seen % 32;
        int x = (seen * 7) % 32;
        for (int c = 0; c < 3; c++) {
          float mean = new float[] {0.5f, 0.4f, 0.3f}[c];
          float std = new float[] {0.2f, 0.25f, 0.3f}[c];
          assertEquals((px.get(y, x, c) / 255f - mean) / std, d.getFeatures().getFloat(i, c, y, x), 1e-5);
        }
      }
    }
    assertEquals(List.of(50, 50, 30), sizes, "batches continue across shards");
    assertEquals(N, seen);
    it.reset();
    assertTrue(it.hasNext(), "resettable");
  }

  @Test
  void augmentationIsSeededAndKeepsShape() {
    BatchOptions aug = BatchOptions.builder().batchSize(32).randomCrop(4).horizontalFlip(true).seed(9).build();
    List<double[]> a = summarize(ParquetDataSets.dataSets(Fixtures.spark(), dataset, "train", aug));
    List<double[]> b = summarize(ParquetDataSets.dataSets(Fixtures.spark(), dataset, "train", aug));
    List<double[]> plain = summarize(ParquetDataSets.dataSets(Fixtures.spark(), dataset, "train",
        BatchOptions.builder().batchSize(32).build()));
    for (int i = 0; i < a.size(); i++) {
      assertArrayEquals(a.get(i), b.get(i), "same seed, same crops and flips");
    }
    assertNotEquals(a.get(0)[1], plain.get(0)[1], "the crop zero-pads, changing the pixel sum");
  }

  @Test
  void unknownSplitAndUnfinishedDatasetAreRefused() {
    DataPrepException e = assertThrows(DataPrepException.class,
        () -> ParquetDataSets.dataSets(Fixtures.spark(), dataset, "val", BatchOptions.evaluation()));
    assertTrue(e.getMessage().contains("no split 'val'"), e.getMessage());
    assertThrows(DataPrepException.class, () -> ParquetDataSets.dataSets(Fixtures.spark(),
        tmp.resolve("cifar").toString(), "train", BatchOptions.evaluation()));
  }

  @Test
  void rowsAsDataFrame() {
    assertEquals(N, ParquetDataSets.rows(Fixtures.spark(), dataset, "train").count());
  }
}
