package io.sparsetrain.jobs.evaluate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparsetrain.jobs.Main;
import io.sparsetrain.nn.MaskedNetwork;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import io.sparsetrain.prune.nm.NmMagnitudePruner;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * End to end on real Fashion-MNIST (300 test images): a tiny CNN trained by the train job is evaluated from its
 * checkpoints (dense epoch 0, the pruned LATEST), and from a model zip with 2:4 masks (compressed kernels) and with
 * a mask that removes a few small weights of one layer (a perturbation small enough to certify), through the
 * real command line; then once more distributed over the shards on local Spark, which must count the same.
 */
class EvaluateJobTest {
  static final int EXAMPLES = 300;
  static Path models;
  static Path out;
  static JsonNode json;
  static Map<String, JsonNode> byLabel = new HashMap<>();

  @BeforeAll
  static void evaluate() throws Exception {
    Path run = EvalFixtures.trainedRun();
    models = Files.createTempDirectory("sparsetrain-eval-models");
    ComputationGraph dense = ModelSerializer.restoreComputationGraph(
        run.resolve("checkpoints/epoch-0000/model.zip").toFile(), false);
    File zip = models.resolve("dense.zip").toFile();
    ModelSerializer.writeModel(dense, zip, false);
    MaskedNetwork net = MaskedNetwork.of(dense);
    MaskSet.Builder nm = MaskSet.builder();
    NmMagnitudePruner pruner = new NmMagnitudePruner(2, 4);
    for (PrunableLayer l : net.prunableLayers()) {
      nm.put(l.name(), pruner.makeMask(l));
    }
    Files.write(models.resolve("nm24.bin"), nm.build().toBytes());
    Files.write(models.resolve("small.bin"), MaskSet.builder().put("fc1", smallestRemoved(net, "fc1", 0.02)).build()
        .toBytes());
    out = Files.createTempDirectory("sparsetrain-eval-out").resolve("evaluation");
    int code = Main.run("evaluate",
        "--checkpoint", "pruned=" + run.resolve("checkpoints"),
        "--checkpoint", "dense=" + run.resolve("checkpoints/epoch-0000"),
        "--model", "nm24=" + zip, "--masks", models.resolve("nm24.bin").toString(),
        "--model", "small=" + zip, "--masks", models.resolve("small.bin").toString(),
        "--data", EvalFixtures.dataset().toString(), "--split", "test", "--output", out.toString(),
        "--max-examples", "" + EXAMPLES, "--execution", "local", "--batch-size", "64",
        "--speed-reps", "2", "--speed-rep-seconds", "0.05", "--speed-warmup-seconds", "0.2",
        "--cert-verify-examples", "120");
    assertEquals(0, code, "evaluate failed");
    json = new ObjectMapper().readTree(out.resolve(EvaluationReport.JSON).toFile());
    for (JsonNode m : json.get("models")) {
      byLabel.put(m.get("label").asText(), m);
    }
  }

  /** A mask of layer {@code name} that removes the given fraction of its smallest non-zero |w|. */
  static Mask smallestRemoved(MaskedNetwork net, String name, double fraction) {
    PrunableLayer l = net.prunableLayers().stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow();
    float[] w = l.weights();
    float[] abs = new float[w.length];
    for (int i = 0; i < w.length; i++) {
      abs[i] = Math.abs(w[i]);
    }
    float[] sorted = abs.clone();
    Arrays.sort(sorted);
    float cut = sorted[(int) (fraction * w.length)];
    boolean[] keep = new boolean[w.length];
    for (int i = 0; i < w.length; i++) {
      keep[i] = abs[i] >= cut;
    }
    return Mask.fromKeep(l.shape(), keep);
  }

  @Test
  void metricsAreInRangeAndConsistent() {
    assertEquals(List.of("pruned", "dense", "nm24", "small"),
        json.get("models").findValuesAsText("label").subList(0, 4));
    assertEquals(EXAMPLES, json.get("data").get("examples").asLong());
    assertEquals("local", json.get("execution").get("mode").asText());
    assertEquals("unit", json.get("data").get("normalization").asText(), "from the run's metrics.json");
    for (JsonNode m : json.get("models")) {
      String label = m.get("label").asText();
      double top1 = m.get("top1").asDouble();
      double top5 = m.get("top5").asDouble();
      assertEquals(EXAMPLES, m.get("examples").asLong(), label);
      assertTrue(top1 >= 0 && top1 <= top5 && top5 <= 1, label + ": top-1 " + top1 + ", top-5 " + top5);
      long total = 0;
      long correct = 0;
      for (JsonNode c : m.get("perClass")) {
        total += c.get("total").asLong();
        correct += c.get("correct").asLong();
        assertTrue(c.get("correct").asLong() <= c.get("total").asLong());
      }
      assertEquals(EXAMPLES, total, label + ": per-class counts sum to the total");
      assertEquals(Math.round(top1 * EXAMPLES), correct, label + ": per-class hits sum to the top-1 hits");
      JsonNode fgsm = m.get("fgsm");
      assertEquals(7, fgsm.size());
      assertEquals(0.0, fgsm.get(0).get("eps").asDouble());
      assertEquals(Math.round(top1 * EXAMPLES), fgsm.get(0).get("correct").asLong(),
          label + ": FGSM at eps 0 is the clean top-1");
      assertTrue(fgsm.get(6).get("accuracy").asDouble() < top1, label + ": FGSM at eps 0.3 must hurt: " + fgsm);
      double s = m.get("globalSparsity").asDouble();
      assertTrue(s >= 0 && s <= 1);
      JsonNode cert = m.get("certificate");
      assertTrue(cert.get("unavailable").isNull(), label + ": " + cert.get("unavailable"));
      for (JsonNode l : cert.get("layers")) {
        double f = l.get("fraction").asDouble();
        assertTrue(f >= 0 && f <= 1, label + " " + l);
      }
      double all = cert.get("overallFraction").asDouble();
      assertTrue(all >= 0 && all <= 1);
      assertEquals(0, cert.get("verification").get("violations").asLong(),
          label + ": a certified example changed its prediction: " + cert.get("verification"));
    }
    // the trained models learned something, and pruning left most of it
    assertTrue(byLabel.get("dense").get("top1").asDouble() > 0.3, "dense top-1 (chance is 0.1)");
    assertTrue(byLabel.get("pruned").get("top1").asDouble() > 0.3, "pruned top-1");
    assertEquals(0.5, byLabel.get("pruned").get("globalSparsity").asDouble(), 0.02, "the recipe's 50%");
    assertEquals(0.0, byLabel.get("dense").get("globalSparsity").asDouble(), 1e-9);
  }

  @Test
  void certificateCoversTheGivenMasksAndHoldsEmpirically() {
    JsonNode cert = byLabel.get("small").get("certificate");
    assertEquals("masks", cert.get("mode").asText());
    JsonNode fc1 = null;
    for (JsonNode l : cert.get("layers")) {
      if (l.get("layer").asText().equals("fc1")) {
        fc1 = l;
      } else {
        assertEquals(0.0, l.get("perturbationNorm").asDouble(), "only fc1 is masked: " + l);
        assertEquals(1.0, l.get("fraction").asDouble(), "a zero perturbation certifies everything");
      }
    }
    assertTrue(fc1.get("perturbationNorm").asDouble() > 0);
    assertTrue(fc1.get("certified").asLong() > 0, "removing 2% of the smallest weights of fc1 must certify some "
        + "examples: " + fc1);
    JsonNode v = cert.get("verification");
    assertTrue(v.get("layers").get(0).get("certified").asLong() > 0, "the check must see certified examples: " + v);
    // the checkpoints' own masks are already in their weights: auto falls back to 2:4 on top
    assertEquals("2:4", byLabel.get("pruned").get("certificate").get("mode").asText());
    assertEquals("masks", byLabel.get("nm24").get("certificate").get("mode").asText());
  }

  @Test
  void compressedAndDensePredictionsAgree() throws Exception {
    JsonNode nm = byLabel.get("nm24");
    assertFalse(nm.get("compressedLayers").isEmpty(), "2:4 masks freeze onto the compressed kernels: " + nm);
    assertEquals(0.5, nm.get("layerSparsity").get("conv2").asDouble(), 0.01);
    assertEquals(1.0, nm.get("speed").get("agreement").asDouble(), "top-1 of compressed vs densified");
    assertTrue(nm.get("speed").get("maxProbabilityDifference").asDouble() < 1e-4);
    JsonNode points = nm.get("speed").get("points");
    assertEquals(2, points.size());
    for (JsonNode p : points) {
      assertTrue(p.get("loaded").get("median").asDouble() > 0 && p.get("densified").get("median").asDouble() > 0);
      assertTrue(p.get("loaded").get("min").asDouble() <= p.get("loaded").get("median").asDouble());
      // the same two models as inference plans, timed beside them
      assertTrue(p.get("planLoaded").get("median").asDouble() > 0 && p.get("planDensified").get("median").asDouble() > 0,
          p.toString());
      assertTrue(p.get("planSpeedup").asDouble() > 0, p.toString());
    }
    // the plan of the 2:4 model (batch norm folded, compressed convolutions) predicts what its graph predicts
    assertEquals(1.0, nm.get("speed").get("planAgreement").asDouble(), "top-1 of the plan vs the graph");
    assertTrue(nm.get("speed").get("planMaxProbabilityDifference").asDouble() < 1e-4, nm.get("speed").toString());
    assertTrue(nm.get("speed").get("planSteps").toString().contains("2:4 compressed"), nm.get("speed").toString());
    assertTrue(byLabel.get("pruned").get("speed").get("points").get(0).get("densified").isNull(),
        "combined (non-N:M) masks: nothing is compressed, the densified network is the same one");
    // independently: the loaded 2:4 model vs its densified copy on the evaluated test images
    LoadedModel m = new ModelLoader(new Configuration()).load(new ModelSource(ModelSource.Kind.MODEL, "nm24",
        models.resolve("dense.zip").toString(), models.resolve("nm24.bin").toString()));
    ComputationGraph dense = SpeedBenchmark.densified(m.evaluated());
    DataSet ds = io.sparsetrain.dataprep.ParquetDataSets.localIterator(EvalFixtures.dataset().toString(), "test",
        io.sparsetrain.dataprep.BatchOptions.builder().batchSize(200).build(), new Configuration()).next();
    INDArray a = m.evaluated().outputSingle(false, ds.getFeatures());
    INDArray d = dense.outputSingle(false, ds.getFeatures());
    assertEquals(Nd4j.argMax(a, 1), Nd4j.argMax(d, 1));
    assertTrue(a.equalsWithEps(d, 1e-4));
  }

  @Test
  void htmlAndPlotsAreWritten() throws Exception {
    String html = Files.readString(out.resolve(EvaluationReport.HTML));
    for (String png : EvaluationReport.PNGS) {
      Path p = out.resolve(png);
      assertTrue(Files.size(p) > 1000, png);
      byte[] head = Arrays.copyOf(Files.readAllBytes(p), 4);
      assertEquals((byte) 0x89, head[0], png + " is a PNG");
      assertTrue(html.contains("src=\"" + png + "\""), png + " is in the report");
    }
    for (String label : List.of("pruned", "dense", "nm24", "small")) {
      assertTrue(html.contains(label));
    }
    assertTrue(html.contains("residual"), "the certificate's assumptions are stated");
    try (var files = Files.list(out.getParent())) {
      assertEquals(List.of(out), files.toList(), "no temporary directories left next to the output");
    }
  }

  @Test
  void distributedOverTheShardsCountsTheSameAsLocal() throws Exception {
    Path out2 = Files.createTempDirectory("sparsetrain-eval-dist").resolve("evaluation");
    EvaluateOptions o = new EvaluateOptions(List.of(ModelSource.parse(ModelSource.Kind.CHECKPOINT,
        "pruned=" + EvalFixtures.trainedRun().resolve("checkpoints"))), EvalFixtures.dataset().toString(), "test",
        out2.toString(), EXAMPLES, EvaluateOptions.parseEps(EvaluateOptions.DEFAULT_EPS), 64, null, "distributed",
        EvaluateOptions.DEFAULT_LOCAL_THRESHOLD, "auto", 0, 0, 0.1, 0, new int[] {1}, "local");
    List<String> lines = new java.util.ArrayList<>();
    EvaluationResult r = EvaluateJob.run(o, EvalFixtures.spark().sparkContext().hadoopConfiguration(),
        EvalFixtures::spark, lines::add);
    assertEquals("distributed", r.execution.mode);
    assertTrue(lines.stream().anyMatch(l -> l.contains("on the executors") && l.contains("examples/s")),
        lines.toString());
    JsonNode local = byLabel.get("pruned");
    ObjectMapper om = new ObjectMapper();
    JsonNode dist = om.readTree(om.writeValueAsString(r.models.get(0)));
    for (String k : List.of("examples", "top1", "top5", "perClass", "fgsm", "layerSparsity", "globalSparsity")) {
      assertEquals(local.get(k), dist.get(k), k);
    }
    for (int i = 0; i < local.get("certificate").get("layers").size(); i++) {
      assertEquals(local.get("certificate").get("layers").get(i).get("certified"),
          dist.get("certificate").get("layers").get(i).get("certified"));
    }
    assertEquals(local.get("certificate").get("overallCertified"), dist.get("certificate").get("overallCertified"));
    assertNull(r.models.get(0).certificate.verification);
  }
}
