package io.sparsetrain.jobs.sparsify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.dataprep.BatchOptions;
import io.sparsetrain.dataprep.ParquetDataSets;
import io.sparsetrain.nn.strbn.ModelCost;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * {@code sparsify --method str-bn} through the job, on the fixture CNN and real Fashion-MNIST images: what the job
 * adds to core's STR-BN (that the smaller graph computes what the soft-thresholded one does is core's test).
 */
class StrBnSparsifyTest {

  @TempDir
  Path tmp;

  @Test
  void strBnWritesASmallerModelAndReportsWhatItRemoved() throws Exception {
    Path out = tmp.resolve("strbn");
    List<String> lines = new ArrayList<>();
    // strong pressure (the ResNet-8 mechanics settings of core's package-info) so that filters die in 48 steps
    SparsifyOptions o = SparsifyJobTest.base(out, "str-bn").calibrationSize(SparsifyFixtures.TRAIN).epochs(2)
        .learningRate(0.05).gammaDecay(0.1).thresholdInit(-2).thresholdDecay(0.5).randomCropPadding(2).horizontalFlip(true)
        .build();
    SparsifyJob.Result r = SparsifyJob.run(SparsifyFixtures.spark(), o, lines::add);
    lines.forEach(System.out::println);
    Map<String, Object> j = SparsifyJobTest.json(out);

    for (String f : List.of("model.zip", "sparsify.json", "report.html", "layer-filters.png")) {
      assertTrue(Files.size(out.resolve(f)) > 100, f + " written");
    }
    assertFalse(Files.exists(out.resolve("masks.bin")), "str-bn has no mask file");
    try (var s = Files.list(out)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith("_tmp-")), "no temporaries left");
    }
    assertEquals("str-bn", j.get("method"));
    assertEquals("driver", j.get("execution"));
    assertEquals(768L, ((Number) j.get("calibrationExamples")).longValue());
    assertEquals(48L, ((Number) j.get("steps")).longValue(), "2 epochs of 24 minibatches");

    // the written model is the smaller one: its sizes are the reported filters kept, its cost the reported "after"
    ComputationGraph smaller = ModelSerializer.restoreComputationGraph(out.resolve("model.zip").toFile(), false);
    ComputationGraph original = SparsifyJobTest.original();
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> layers = (List<Map<String, Object>>) j.get("layers");
    assertEquals(List.of("conv1", "conv2", "fc1"), layers.stream().map(l -> l.get("name")).toList());
    int removed = 0;
    int filters = 0;
    for (Map<String, Object> l : layers) {
      String name = (String) l.get("name");
      long before = ((FeedForwardLayer) original.getLayer(name).conf().getLayer()).getNOut();
      long after = ((FeedForwardLayer) smaller.getLayer(name).conf().getLayer()).getNOut();
      assertEquals(before, ((Number) l.get("filtersBefore")).longValue(), name);
      assertEquals(after, ((Number) l.get("filtersAfter")).longValue(), name);
      assertEquals(before - after, ((Number) l.get("removed")).longValue(), name);
      removed += ((Number) l.get("removed")).intValue();
      filters += (int) before;
    }
    assertTrue(removed > 0, "some filters were removed: " + layers);
    assertEquals(removed, ((Number) j.get("filtersRemoved")).intValue());
    assertEquals(removed / (double) filters, ((Number) j.get("fractionFiltersRemoved")).doubleValue(), 1e-12);
    ModelCost cost = ModelCost.of(smaller, InputType.convolutional(28, 28, 1));
    ModelCost dense = ModelCost.of(original, InputType.convolutional(28, 28, 1));
    assertEquals(cost.parameters(), ((Number) j.get("parametersAfter")).longValue());
    assertEquals(dense.parameters(), ((Number) j.get("parametersBefore")).longValue());
    assertTrue(cost.parameters() < dense.parameters(), cost + " vs " + dense);
    assertEquals(cost.multiplyAdds(), ((Number) j.get("multiplyAddsAfter")).longValue());
    assertTrue(smaller.numParams() < original.numParams());
    assertEquals(r.model().numParams(), smaller.numParams());

    // top-1 / top-5 after are those of the written model on the whole test split
    double[] acc = accuracy(smaller);
    assertEquals(acc[0], (double) j.get("top1After"), 1e-12);
    assertEquals(acc[1], (double) j.get("top5After"), 1e-12);
    double[] denseAcc = accuracy(original);
    assertEquals(denseAcc[0], (double) j.get("top1Before"), 1e-12);
    assertEquals(SparsifyFixtures.TEST, ((Number) j.get("testExamples")).intValue());
    assertTrue((double) j.get("sparsifySeconds") > 0 && (double) j.get("sparsifySeconds") <= (double) j.get("wallSeconds"));
    @SuppressWarnings("unchecked")
    Map<String, Object> opts = (Map<String, Object>) j.get("options");
    assertEquals(0.1, opts.get("gammaDecay"));
    assertEquals(0.05, opts.get("learningRate"));

    assertTrue(lines.stream().anyMatch(s -> s.contains("on the driver")), "progress says where it trains");
    assertEquals(2, opts.get("randomCropPadding"));
    assertEquals(true, opts.get("horizontalFlip"));
    assertTrue(lines.stream().anyMatch(s -> s.contains("augmented (random crop padding 2, horizontal flip true")),
        "progress says the minibatches are augmented");
    assertTrue(lines.stream().anyMatch(s -> s.matches("epoch 2/2 step 48/48 loss \\d+\\.\\d+ l2 \\d+\\.\\d+ dead channels "
        + "\\d+/\\d+ .* images/s elapsed .* eta .*")), "progress lines: " + lines);
    String html = Files.readString(out.resolve("report.html"));
    assertTrue(html.contains("layer-filters.png") && html.contains("conv2"), html);
  }

  /** {top-1, top-5} of {@code g} on the fixture's test split, in this JVM. */
  private static double[] accuracy(ComputationGraph g) {
    long n = 0;
    long c1 = 0;
    long c5 = 0;
    var it = ParquetDataSets.localIterator(SparsifyFixtures.dataset().toString(), "test", BatchOptions.builder()
        .batchSize(64).normalization(BatchOptions.Normalization.UNIT).build(), new Configuration());
    while (it.hasNext()) {
      DataSet d = it.next();
      INDArray p = g.outputSingle(false, d.getFeatures());
      for (int i = 0; i < d.numExamples(); i++) {
        int label = d.getLabels().getRow(i).argMax().getInt(0);
        double v = p.getDouble(i, label);
        int above = 0;
        for (int k = 0; k < p.size(1); k++) {
          double q = p.getDouble(i, k);
          above += q > v || (q == v && k < label) ? 1 : 0;
        }
        c1 += above == 0 ? 1 : 0;
        c5 += above < 5 ? 1 : 0;
        n++;
      }
    }
    return new double[] {c1 / (double) n, c5 / (double) n};
  }
}
