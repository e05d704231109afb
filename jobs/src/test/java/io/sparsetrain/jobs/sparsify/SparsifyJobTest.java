package io.sparsetrain.jobs.sparsify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparsetrain.jobs.Main;
import io.sparsetrain.nn.MaskedNetwork;
import io.sparsetrain.nn.convert.SparseConversion;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.nm.NmMagnitudePruner;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sparsify job end to end on the shared local[2] session, with a small CNN trained on real Fashion-MNIST
 * images ({@link SparsifyFixtures}).
 */
class SparsifyJobTest {

  @TempDir
  Path tmp;

  static SparsifyOptions.Builder base(Path out, String method) {
    return SparsifyOptions.builder().model(SparsifyFixtures.model().toString())
        .data(SparsifyFixtures.dataset().toString()).output(out.toString()).method(method).workers(2).batchSize(32)
        .stepsPerRound(2);
  }

  static Map<String, Object> json(Path out) throws Exception {
    @SuppressWarnings("unchecked")
    Map<String, Object> m = new ObjectMapper().readValue(out.resolve("sparsify.json").toFile(), Map.class);
    return m;
  }

  static ComputationGraph original() throws Exception {
    return SparseConversion.toSparse(ModelSerializer.restoreComputationGraph(SparsifyFixtures.model().toFile(), false));
  }

  @Test
  void learnedNmAtLeastMatchesMagnitudeNmAndItsOutputsAreConsistent() throws Exception {
    List<String> lines = new ArrayList<>();
    Path mag = tmp.resolve("magnitude");
    SparsifyJob.Result m = SparsifyJob.run(SparsifyFixtures.spark(), base(mag, "magnitude-nm").build(), lines::add);
    Path learned = tmp.resolve("learned");
    SparsifyJob.Result l = SparsifyJob.run(SparsifyFixtures.spark(), base(learned, "learned-nm")
        .calibrationSize(SparsifyFixtures.TRAIN).epochs(2).build(), lines::add);
    lines.forEach(System.out::println);

    double magTop1 = (double) m.summary().get("top1After");
    double learnedTop1 = (double) l.summary().get("top1After");
    double dense = (double) l.summary().get("top1Before");
    assertTrue(dense > 0.6, "the fixture model learned Fashion-MNIST: " + dense);
    // learned masks start at the magnitude pattern (magnitude logit init) and are trained on the task loss
    assertTrue(learnedTop1 >= magTop1 - 0.01, "learned-nm " + learnedTop1 + " vs magnitude-nm " + magTop1);
    assertEquals(magTop1, (double) ((Map<?, ?>) l.summary().get("baselines")).get("magnitude-nm"), 1e-12);
    assertTrue(lines.stream().anyMatch(s -> s.matches(
        "epoch 1/2 step \\d+ round 1/\\d+ loss \\d+\\.\\d+ sparsity 0\\.\\d+ \\(target 0\\.5000\\) \\d+\\.\\d images/s elapsed .* eta .*")),
        "progress lines: " + lines);

    for (Path out : List.of(mag, learned)) {
      for (String f : List.of("model.zip", "masks.bin", "sparsify.json", "report.html", "layer-sparsity.png")) {
        assertTrue(Files.size(out.resolve(f)) > 100, out.resolve(f) + " written");
      }
      assertFalse(Files.exists(out.resolve("checkpoints")), "checkpoints removed after a finished run");
      try (var s = Files.list(out)) {
        assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith("_tmp-")), "no temporaries left");
      }
      Map<String, Object> j = json(out);
      MaskSet masks = MaskSet.fromBytes(Files.readAllBytes(out.resolve("masks.bin")));
      ComputationGraph sparse = ModelSerializer.restoreComputationGraph(out.resolve("model.zip").toFile(), false);
      MaskedNetwork net = MaskedNetwork.of(sparse);
      assertEquals(masks, net.masks(), "the model holds the mask file's masks");
      assertTrue(net.isFrozen());
      assertEquals(List.of("conv1", "conv2", "fc1"), net.compressedLayers(), "2:4 layers run compressed");
      assertEquals(masks.zeroCount() / (double) masks.weightCount(), (double) j.get("achievedGlobalSparsity"), 1e-12);
      for (String name : masks.names()) {
        assertTrue(NmMagnitudePruner.satisfiesNm(masks.get(name), 2, 4), name);
      }
      // weights untouched bit for bit: the sparse model's weights are the trained ones times the mask
      MaskedNetwork orig = MaskedNetwork.of(original());
      for (String name : masks.names()) {
        float[] w = orig.sparseLayers().get(name).weights();
        masks.get(name).applyTo(w);
        assertArrayEquals(w, net.sparseLayers().get(name).weights(), name);
      }
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> layers = (List<Map<String, Object>>) j.get("layers");
      assertEquals(3, layers.size());
      for (Map<String, Object> layer : layers) {
        String name = (String) layer.get("name");
        float[] w = orig.sparseLayers().get(name).weights();
        double all = 0;
        double kept = 0;
        for (int i = 0; i < w.length; i++) {
          all += (double) w[i] * w[i];
          kept += masks.get(name).isKept(i) ? (double) w[i] * w[i] : 0;
        }
        double energy = ((Number) layer.get("keptWeightEnergy")).doubleValue();
        assertEquals(kept / all, energy, 1e-9, name);
        assertTrue(energy > 0.5 && energy < 1, name + ": 2:4 keeps the larger half, not all: " + energy);
      }
      assertTrue(Files.readString(out.resolve("report.html")).contains("layer-sparsity.png"));
      assertTrue(Files.readString(out.resolve("report.html")).contains("kept weight energy"));
    }
    assertNotEquals(m.masks(), l.masks(), "learning changed some patterns");

    // the learned masks re-apply to an updated copy of the model (trained one more epoch elsewhere)
    Path updatedZip = tmp.resolve("updated.zip");
    ComputationGraph moved = SparsifyFixtures.train(SparsifyFixtures.dataset(), 999, 1);
    ModelSerializer.writeModel(moved, updatedZip.toFile(), false);
    Path applied = tmp.resolve("applied");
    SparsifyJob.Result a = SparsifyJob.run(SparsifyFixtures.spark(), base(applied, "apply")
        .model(updatedZip.toString()).masks(learned.resolve("masks.bin").toString()).build(), s -> { });
    assertEquals(l.masks(), MaskedNetwork.of(a.model()).masks());
    MaskedNetwork movedNet = MaskedNetwork.of(SparseConversion.toSparse(moved));
    for (String name : l.masks().names()) {
      float[] w = movedNet.sparseLayers().get(name).weights();
      l.masks().get(name).applyTo(w);
      assertArrayEquals(w, MaskedNetwork.of(a.model()).sparseLayers().get(name).weights(), name);
    }
  }

  @Test
  void channelWiseGroupsLearnAndRunCompressed() throws Exception {
    io.sparsetrain.prune.nm.NmGroupOrder channel = io.sparsetrain.prune.nm.NmGroupOrder.CHANNEL;
    Path learned = tmp.resolve("learned-channel");
    SparsifyJob.Result l = SparsifyJob.run(SparsifyFixtures.spark(), base(learned, "learned-nm").groupOrder(channel)
        .calibrationSize(384).maxTestExamples(64).build(), s -> { });
    Path mag = tmp.resolve("magnitude-channel");
    SparsifyJob.Result m = SparsifyJob.run(SparsifyFixtures.spark(), base(mag, "magnitude-nm").groupOrder(channel)
        .maxTestExamples(64).build(), s -> { });
    assertEquals(m.summary().get("top1After"), ((Map<?, ?>) l.summary().get("baselines")).get("magnitude-nm"),
        "learned-nm's baseline is the channel-wise magnitude mask");
    for (Path out : List.of(learned, mag)) {
      assertEquals("channel", ((Map<?, ?>) json(out).get("options")).get("nmGroups"));
      MaskSet masks = MaskSet.fromBytes(Files.readAllBytes(out.resolve("masks.bin")));
      MaskedNetwork net = MaskedNetwork.of(ModelSerializer.restoreComputationGraph(out.resolve("model.zip").toFile(), false));
      assertEquals(List.of("conv1", "conv2", "fc1"), net.compressedLayers(), "channel-wise 2:4 runs compressed too");
      boolean permuted = false;
      for (String name : masks.names()) {
        Mask mask = masks.get(name);
        assertTrue(NmMagnitudePruner.satisfiesNm(mask, 2, 4, channel), name);
        if (channel.permutes(mask.shape())) {
          permuted = true;
          assertEquals(channel, net.sparseLayers().get(name).frozenGroupOrder(), name);
          assertFalse(NmMagnitudePruner.satisfiesNm(mask, 2, 4), name + " is not 2:4 along K");
        }
      }
      assertTrue(permuted, "the fixture has a 3x3 convolution with several input channels");
    }
  }

  @Test
  void excludedLayersStayDenseInTheResultAndItsBaselineAndLeaveTheGlobalRate() throws Exception {
    List<String> lines = new ArrayList<>();
    Path mag = tmp.resolve("magnitude-ex");
    SparsifyJob.Result m = SparsifyJob.run(SparsifyFixtures.spark(), base(mag, "magnitude-nm").excludeFirstConv(true)
        .build(), lines::add);
    Path learned = tmp.resolve("learned-ex");
    SparsifyJob.Result l = SparsifyJob.run(SparsifyFixtures.spark(), base(learned, "learned-nm").excludeFirstConv(true)
        .calibrationSize(256).build(), lines::add);
    assertTrue(lines.contains("kept dense (excluded): conv1"), "progress names the excluded layer: " + lines);
    MaskedNetwork orig = MaskedNetwork.of(original());
    float[] conv1 = orig.sparseLayers().get("conv1").weights();
    for (SparsifyJob.Result r : List.of(m, l)) {
      assertEquals(List.of("conv2", "fc1"), List.copyOf(r.masks().names()), "the mask file leaves conv1 out");
      MaskedNetwork net = MaskedNetwork.of(r.model());
      assertEquals(List.of("conv2", "fc1"), net.compressedLayers(), "conv1 computes densely");
      assertArrayEquals(conv1, net.sparseLayers().get("conv1").weights(), "conv1 keeps every weight");
      assertEquals(0, net.masks().get("conv1").zeroCount());
      // the global rate is over the sparsified layers: 2:4 of conv2 and fc1 exactly
      assertEquals(r.masks().zeroCount(), ((Number) r.summary().get("zeros")).longValue());
      assertEquals(r.masks().weightCount(), ((Number) r.summary().get("weights")).longValue());
      assertEquals(0.5, (double) r.summary().get("achievedGlobalSparsity"), 1e-12);
      assertEquals(List.of("conv1"), r.summary().get("excludedLayers"));
    }
    // learned-nm's magnitude baseline leaves conv1 out too: it is the magnitude-nm run above
    assertEquals((double) m.summary().get("top1After"),
        (double) ((Map<?, ?>) l.summary().get("baselines")).get("magnitude-nm"), 1e-12);
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> layers = (List<Map<String, Object>>) json(learned).get("layers");
    assertEquals("dense (excluded)", layers.get(0).get("kernel"));

    // --exclude by name: the same as --exclude-first-conv here
    SparsifyJob.Result byName = SparsifyJob.run(SparsifyFixtures.spark(), base(tmp.resolve("by-name"), "magnitude-nm")
        .exclude(List.of("conv1")).build(), s -> { });
    assertEquals(m.masks(), byName.masks());

    SparsifyException e = assertThrows(SparsifyException.class, () -> SparsifyJob.run(SparsifyFixtures.spark(),
        base(tmp.resolve("bad-ex"), "magnitude-nm").exclude(List.of("conv7")).build(), s -> { }));
    assertTrue(e.getMessage().contains("--exclude conv7") && e.getMessage().contains("[conv1, conv2, fc1]"),
        e.getMessage());
    e = assertThrows(SparsifyException.class, () -> SparsifyJob.run(SparsifyFixtures.spark(),
        base(tmp.resolve("all-ex"), "magnitude-nm").exclude(List.of("conv1", "conv2", "fc1")).build(), s -> { }));
    assertTrue(e.getMessage().contains("leaves no layer"), e.getMessage());
    e = assertThrows(SparsifyException.class, () -> base(tmp.resolve("x"), "str-bn").excludeFirstConv(true).build());
    assertTrue(e.getMessage().contains("--exclude and --exclude-first-conv are for the mask methods"), e.getMessage());
  }

  @Test
  void bnRecalibrationReestimatesOnlyTheStatisticsOfResultAndBaselines() throws Exception {
    Path plain = tmp.resolve("plain");
    SparsifyJob.Result p = SparsifyJob.run(SparsifyFixtures.spark(), base(plain, "uniform").target(0.7).build(),
        s -> { });
    Path recal = tmp.resolve("recal");
    List<String> lines = new ArrayList<>();
    SparsifyJob.Result r = SparsifyJob.run(SparsifyFixtures.spark(), base(recal, "uniform").target(0.7)
        .bnRecalibration(200).build(), lines::add);
    assertEquals(p.masks(), r.masks(), "same masks");
    assertEquals(200L, ((Number) r.summary().get("bnRecalibrationImages")).longValue());
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("batch-norm statistics re-estimated on 200 'train' images")),
        "progress: " + lines);
    // expected: the plain result recalibrated directly on the first 200 training images (batches of 64)
    ComputationGraph want = p.model().clone();
    io.sparsetrain.nn.BnRecalibration.recalibrate(want, io.sparsetrain.dataprep.ParquetDataSets.localIterator(
        SparsifyFixtures.dataset().toString(), "train", io.sparsetrain.dataprep.BatchOptions.builder().batchSize(64)
            .build(), new org.apache.hadoop.conf.Configuration()), 200);
    for (String k : want.paramTable().keySet()) {
      float[] got = r.model().getParam(k).dup('c').data().asFloat();
      float[] before = p.model().getParam(k).dup('c').data().asFloat();
      if (k.endsWith("_mean") || k.endsWith("_var")) {
        assertArrayEquals(want.getParam(k).dup('c').data().asFloat(), got, 1e-5f, k);
        assertFalse(java.util.Arrays.equals(before, got), k + " re-estimated");
      } else {
        assertArrayEquals(before, got, k + " untouched");
      }
    }
    double top1 = (double) r.summary().get("top1After");
    double top1Plain = (double) p.summary().get("top1After");
    System.out.printf("uniform 70%%: top-1 %.4f without, %.4f with BN recalibration%n", top1Plain, top1);
  }

  @Test
  void allocationUniformAndErkHitTheGlobalTargetExactly() throws Exception {
    double target = 0.7;
    for (String method : List.of("uniform", "erk", "allocation")) {
      Path out = tmp.resolve(method);
      List<String> lines = new ArrayList<>();
      SparsifyJob.Result r = SparsifyJob.run(SparsifyFixtures.spark(), base(out, method).target(target)
          .calibrationSize(256).build(), lines::add);
      lines.forEach(System.out::println);
      Map<String, Object> j = json(out);
      double achieved = (double) j.get("achievedGlobalSparsity");
      assertEquals(target, achieved, 0.001, method);
      long weights = ((Number) j.get("weights")).longValue();
      assertEquals(Math.round(target * weights), ((Number) j.get("zeros")).longValue(), method + ": exact to one weight");
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> layers = (List<Map<String, Object>>) j.get("layers");
      double min = 1;
      double max = 0;
      for (Map<String, Object> layer : layers) {
        double s = ((Number) layer.get("sparsity")).doubleValue();
        min = Math.min(min, s);
        max = Math.max(max, s);
      }
      if (method.equals("uniform")) {
        assertEquals(target, min, 0.01);
        assertEquals(target, max, 0.01);
      } else if (method.equals("erk")) {
        assertTrue(max - min > 0.05, method + " allocates non-uniformly: " + layers);
      }
      assertEquals(MaskSet.fromBytes(Files.readAllBytes(out.resolve("masks.bin"))), r.masks());
      if (method.equals("allocation")) {
        assertTrue(((Map<?, ?>) j.get("baselines")).containsKey("erk"));
        assertEquals(3, ((List<?>) j.get("thresholds")).size(), "learned and corrected thresholds reported");
        // the start is the baseline with the lower calibration L_rec (no labels), and the control scale is reported
        @SuppressWarnings("unchecked")
        Map<String, Object> probe = (Map<String, Object>) j.get("probeReconstructionLoss");
        String start = (String) j.get("allocationStart");
        String other = start.equals("erk") ? "uniform" : "erk";
        assertTrue(((Number) probe.get(start)).doubleValue() <= ((Number) probe.get(other)).doubleValue(), probe + " " + start);
        assertTrue(((Number) j.get("controlScale")).doubleValue() > 0);
        assertTrue(((Number) j.get("steps")).longValue() > 0);
        assertTrue(lines.stream().anyMatch(s -> s.startsWith("epoch 1/1 step ")), "progress lines");
      }
    }
  }

  @Test
  void allocationWithAdjustedWeightsMasksTheAdjustedWeightsAtTheExactRate() throws Exception {
    double target = 0.7;
    Path out = tmp.resolve("adjusted");
    List<String> lines = new ArrayList<>();
    SparsifyJob.Result r = SparsifyJob.run(SparsifyFixtures.spark(), base(out, "allocation").target(target)
        .calibrationSize(256).adjustWeights(true).weightLearningRate(1e-3).build(), lines::add);
    lines.forEach(System.out::println);
    Map<String, Object> j = json(out);
    long weights = ((Number) j.get("weights")).longValue();
    assertEquals(Math.round(target * weights), ((Number) j.get("zeros")).longValue(), "exact to one weight");
    double change = ((Number) j.get("weightRelativeChange")).doubleValue();
    assertTrue(change > 1e-4 && change < 0.5, "weights adjusted slightly: " + change);
    assertTrue(lines.stream().anyMatch(s -> s.startsWith("adjusted weights: ||W - W0|| / ||W0|| = ")), "progress");
    assertEquals(Boolean.TRUE, ((Map<?, ?>) j.get("options")).get("adjustWeights"));
    // the model's weights are the adjusted ones times the mask: pruned exactly 0, kept ones moved
    MaskedNetwork orig = MaskedNetwork.of(original());
    MaskedNetwork net = MaskedNetwork.of(r.model());
    int moved = 0;
    for (String name : r.masks().names()) {
      float[] w0 = orig.sparseLayers().get(name).weights();
      float[] w = net.sparseLayers().get(name).weights();
      Mask m = r.masks().get(name);
      double minKept = Double.MAX_VALUE;
      for (int i = 0; i < w.length; i++) {
        if (m.isKept(i)) {
          minKept = Math.min(minKept, Math.abs(w[i]));
          moved += w[i] != w0[i] ? 1 : 0;
        } else {
          assertEquals(0f, w[i], name + " pruned weight " + i);
        }
      }
      assertTrue(minKept > 0, name);
    }
    assertTrue(moved > 0, "kept weights differ from the trained ones");
  }

  @Test
  void anInterruptedLearnedRunResumesFromItsCheckpointToTheSameMasks() {
    Path full = tmp.resolve("full");
    SparsifyOptions.Builder b = base(full, "learned-nm").calibrationSize(384).checkpointEveryRounds(2).maxTestExamples(64);
    SparsifyJob.Result a = SparsifyJob.run(SparsifyFixtures.spark(), b.build(), s -> { });

    Path cut = tmp.resolve("cut");
    SparsifyOptions c = base(cut, "learned-nm").calibrationSize(384).checkpointEveryRounds(2).maxTestExamples(64).build();
    RuntimeException crash = assertThrows(RuntimeException.class, () -> SparsifyJob.run(SparsifyFixtures.spark(), c,
        line -> {
          if (line.startsWith("epoch 1/1 step") && line.contains(" round 3/")) {
            throw new IllegalStateException("simulated crash");
          }
        }));
    assertEquals("simulated crash", crash.getMessage());
    assertTrue(Files.exists(cut.resolve(SparsifyJob.CHECKPOINT)));
    SparsifyException refused = assertThrows(SparsifyException.class, () -> SparsifyJob.run(SparsifyFixtures.spark(), c,
        s -> { }));
    assertTrue(refused.getMessage().contains("--resume"), refused.getMessage());
    List<String> lines = new ArrayList<>();
    SparsifyJob.Result r = SparsifyJob.run(SparsifyFixtures.spark(), base(cut, "learned-nm").calibrationSize(384)
        .checkpointEveryRounds(2).maxTestExamples(64).resume(true).build(), lines::add);
    assertTrue(lines.stream().anyMatch(s -> s.startsWith("resuming from ") && s.contains("round 2")), lines.toString());
    assertEquals(a.summary().get("steps"), r.summary().get("steps"), "the resumed run took the same optimizer steps");
    assertEquals(a.masks(), r.masks(), "the resumed run ends with the uninterrupted run's masks");
  }

  @Test
  void badInputsGetClearErrors() throws Exception {
    Path out = tmp.resolve("bad");
    SparsifyException e = assertThrows(SparsifyException.class, () -> base(out, "learned-2:4").build());
    assertTrue(e.getMessage().contains("unknown --method 'learned-2:4'") && e.getMessage().contains("allocation"),
        e.getMessage());
    e = assertThrows(SparsifyException.class, () -> base(out, "allocation").target(70.0).build());
    assertTrue(e.getMessage().contains("--target must be in (0, 1)") && e.getMessage().contains("70.0"), e.getMessage());
    e = assertThrows(SparsifyException.class, () -> base(out, "uniform").build());
    assertTrue(e.getMessage().contains("needs --target"), e.getMessage());
    e = assertThrows(SparsifyException.class, () -> base(out, "learned-nm").target(0.6).build());
    assertTrue(e.getMessage().contains("1 - N/M"), e.getMessage());
    e = assertThrows(SparsifyException.class, () -> base(out, "magnitude-nm").nm(4, 4).build());
    assertTrue(e.getMessage().contains("--n/--m") && e.getMessage().contains("N=4, M=4"), e.getMessage());
    e = assertThrows(SparsifyException.class, () -> base(out, "str-bn").target(0.5).build());
    assertTrue(e.getMessage().contains("--target does not apply to --method str-bn"), e.getMessage());
    e = assertThrows(SparsifyException.class, () -> base(out, "str-bn").gammaDecay(-1).build());
    assertTrue(e.getMessage().contains("--gamma-decay must be finite and >= 0, got -1.0"), e.getMessage());
    e = assertThrows(SparsifyException.class, () -> base(out, "str-bn").fineTuneEpochs(1).fineTuneLearningRate(0.0).build());
    assertTrue(e.getMessage().contains("--finetune-lr must be finite and > 0, got 0.0"), e.getMessage());
    e = assertThrows(SparsifyException.class, () -> base(out, "str-bn").fineTuneLearningRate(0.001).build());
    assertTrue(e.getMessage().contains("--finetune-lr needs --finetune-epochs > 0"), e.getMessage());
    e = assertThrows(SparsifyException.class, () -> base(out, "str-bn").stopAtRemoved(1.5).build());
    assertTrue(e.getMessage().contains("--stop-at-removed must be in [0, 1)"), e.getMessage());
    e = assertThrows(SparsifyException.class, () -> base(out, "learned-nm").stopAtRemoved(0.3).build());
    assertTrue(e.getMessage().contains("--stop-at-removed is for --method str-bn"), e.getMessage());
    e = assertThrows(SparsifyException.class, () -> base(out, "learned-nm").horizontalFlip(true).build());
    assertTrue(e.getMessage().contains("--random-crop-padding and --horizontal-flip are for --method str-bn"), e.getMessage());
    e = assertThrows(SparsifyException.class, () -> base(out, "str-bn").randomCropPadding(-1).build());
    assertTrue(e.getMessage().contains("--random-crop-padding must be >= 0, got -1"), e.getMessage());
    e = assertThrows(SparsifyException.class, () -> base(out, "allocation").target(0.5).distill(true).build());
    assertTrue(e.getMessage().contains("--distill is for --method learned-nm or str-bn"), e.getMessage());
    e = assertThrows(SparsifyException.class, () -> base(out, "str-bn").distill(true).distillWeight(0).build());
    assertTrue(e.getMessage().contains("--distill-weight must be in (0, 1], got 0.0"), e.getMessage());
    e = assertThrows(SparsifyException.class, () -> base(out, "str-bn").distillWeight(0.5).build());
    assertTrue(e.getMessage().contains("--distill-weight is for --method str-bn with --distill"), e.getMessage());
    assertEquals(0.5, base(out, "str-bn").distill(true).distillWeight(0.5).build().strBnOptions().distillWeight());
    assertEquals(0.0, base(out, "str-bn").build().strBnOptions().distillWeight(), "labels only without --distill");
    e = assertThrows(SparsifyException.class, () -> base(out, "uniform").target(0.5)
        .groupOrder(io.sparsetrain.prune.nm.NmGroupOrder.CHANNEL).build());
    assertTrue(e.getMessage().contains("--nm-groups channel is for --method learned-nm or magnitude-nm"), e.getMessage());
    e = assertThrows(SparsifyException.class, () -> base(out, "learned-nm").batchStatistics(true).build());
    assertTrue(e.getMessage().contains("--batch-statistics needs --bn-recalibration"), e.getMessage());
    e = assertThrows(SparsifyException.class, () -> base(out, "uniform").target(0.5).batchStatistics(true).bnRecalibration(64).build());
    assertTrue(e.getMessage().contains("--batch-statistics is for --method learned-nm or allocation"), e.getMessage());

    e = assertThrows(SparsifyException.class, () -> SparsifyJob.run(SparsifyFixtures.spark(),
        base(out, "magnitude-nm").model(tmp.resolve("nope.zip").toString()).build(), s -> { }));
    assertTrue(e.getMessage().contains("--model") && e.getMessage().contains("nope.zip") && e.getMessage().contains("does not exist"),
        e.getMessage());
    Files.writeString(tmp.resolve("junk.zip"), "not a model");
    e = assertThrows(SparsifyException.class, () -> SparsifyJob.run(SparsifyFixtures.spark(),
        base(out, "magnitude-nm").model(tmp.resolve("junk.zip").toString()).build(), s -> { }));
    assertTrue(e.getMessage().contains("not a DL4J model zip"), e.getMessage());

    // the KL objectives need a softmax / cross-entropy classifier
    ComputationGraph mse = new ComputationGraph(new org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder().graphBuilder()
        .addInputs("input").addLayer("conv1", new org.deeplearning4j.nn.conf.layers.ConvolutionLayer.Builder(3, 3).nOut(4)
            .build(), "input")
        .addLayer("out", new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder(
            org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction.MSE).activation(org.nd4j.linalg.activations.Activation.IDENTITY)
            .nOut(10).build(), "conv1")
        .setOutputs("out").setInputTypes(org.deeplearning4j.nn.conf.inputs.InputType.convolutional(28, 28, 1)).build());
    mse.init();
    ModelSerializer.writeModel(mse, tmp.resolve("mse.zip").toFile(), false);
    for (SparsifyOptions bad : List.of(base(out, "allocation").target(0.5).model(tmp.resolve("mse.zip").toString()).build(),
        base(out, "learned-nm").distill(true).model(tmp.resolve("mse.zip").toString()).build())) {
      e = assertThrows(SparsifyException.class, () -> SparsifyJob.run(SparsifyFixtures.spark(), bad, s -> { }));
      assertTrue(e.getMessage().contains("needs an output layer with softmax activation and MCXENT loss")
          && e.getMessage().contains("output 'out'") && e.getMessage().contains("MSE"), e.getMessage());
    }

    // a mask file of another model: conv1 of 4 filters instead of 8
    MaskSet other = MaskSet.builder().put("conv1", Mask.allKept(io.sparsetrain.prune.LayerShape.conv(4, 1, 3, 3))).build();
    Files.write(tmp.resolve("other.bin"), other.toBytes());
    e = assertThrows(SparsifyException.class, () -> SparsifyJob.run(SparsifyFixtures.spark(),
        base(out, "apply").masks(tmp.resolve("other.bin").toString()).build(), s -> { }));
    assertTrue(e.getMessage().contains("does not match the model") && e.getMessage().contains("conv1"), e.getMessage());
    MaskSet unknown = MaskSet.builder().put("conv9", Mask.allKept(io.sparsetrain.prune.LayerShape.conv(4, 1, 3, 3))).build();
    Files.write(tmp.resolve("unknown.bin"), unknown.toBytes());
    e = assertThrows(SparsifyException.class, () -> SparsifyJob.run(SparsifyFixtures.spark(),
        base(out, "apply").masks(tmp.resolve("unknown.bin").toString()).build(), s -> { }));
    assertTrue(e.getMessage().contains("'conv9'"), e.getMessage());

    // the command line reports the same errors as one line and exit code 1
    PrintStream err = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true));
    int code;
    try {
      code = Main.run("sparsify", "--model", SparsifyFixtures.model().toString(), "--data",
          SparsifyFixtures.dataset().toString(), "--output", out.toString(), "--method", "prune-harder");
    } finally {
      System.setErr(err);
    }
    assertEquals(1, code);
    assertTrue(captured.toString().contains("unknown --method 'prune-harder'"), captured.toString());
  }
}
