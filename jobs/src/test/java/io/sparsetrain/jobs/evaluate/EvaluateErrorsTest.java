package io.sparsetrain.jobs.evaluate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparsetrain.jobs.Main;
import io.sparsetrain.prune.LayerShape;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskSet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Bad input fails before any evaluation with a message that names the path or value: missing checkpoint or model,
 * masks that do not fit the model, unknown or empty split, bad epsilon list, an output that is not an earlier
 * evaluation. An earlier evaluation is replaced atomically.
 */
class EvaluateErrorsTest {
  static Path dir;
  static Path data;
  static Path zip;

  @BeforeAll
  static void setUp() throws IOException {
    data = EvalFixtures.dataset();
    dir = Files.createTempDirectory("sparsetrain-eval-errors");
    zip = dir.resolve("net.zip");
    ModelSerializer.writeModel(EvalNets.residualBn(28, 10, 1), zip.toFile(), false);
  }

  static EvaluateOptions options(List<ModelSource> models, String split, Path output) {
    return new EvaluateOptions(models, data.toString(), split, output.toString(), 40, new double[] {0, 0.1}, 32, null,
        "local", 2000, "auto", 0, 0, 0.1, 0, new int[] {1}, "local");
  }

  static EvaluateException fails(List<ModelSource> models, String split) {
    return assertThrows(EvaluateException.class, () -> EvaluateJob.run(options(models, split,
        dir.resolve("out-" + System.nanoTime())), new Configuration(), () -> {
          throw new AssertionError("no Spark for a failing run");
        }, line -> { }));
  }

  static ModelSource model(String path, String masks) {
    return new ModelSource(ModelSource.Kind.MODEL, null, path, masks);
  }

  @Test
  void missingCheckpointOrModelNamesThePath() {
    String missing = dir.resolve("no-such-run/checkpoints").toString();
    EvaluateException e = fails(List.of(new ModelSource(ModelSource.Kind.CHECKPOINT, null, missing, null)), "test");
    assertTrue(e.getMessage().contains(missing) && e.getMessage().contains("does not exist"), e.getMessage());
    e = fails(List.of(new ModelSource(ModelSource.Kind.CHECKPOINT, null, data.toString(), null)), "test");
    assertTrue(e.getMessage().contains("is not a checkpoint") && e.getMessage().contains(data.toString()),
        e.getMessage());
    e = fails(List.of(model(dir.resolve("nope.zip").toString(), null)), "test");
    assertTrue(e.getMessage().contains("nope.zip"), e.getMessage());
    e = fails(List.of(model(data.resolve("manifest.json").toString(), null)), "test");
    assertTrue(e.getMessage().contains("is not a DL4J model zip"), e.getMessage());
  }

  @Test
  void masksThatDoNotFitTheModelAreRefused() throws IOException {
    Path unknown = dir.resolve("unknown-layer.bin");
    Files.write(unknown, MaskSet.builder().put("conv9", Mask.allKept(LayerShape.conv(4, 1, 3, 3))).build().toBytes());
    EvaluateException e = fails(List.of(model(zip.toString(), unknown.toString())), "test");
    assertTrue(e.getMessage().contains(unknown.toString()) && e.getMessage().contains("conv9"), e.getMessage());
    Path shape = dir.resolve("wrong-shape.bin");
    Files.write(shape, MaskSet.builder().put("conv1", Mask.allKept(LayerShape.conv(4, 1, 5, 5))).build().toBytes());
    e = fails(List.of(model(zip.toString(), shape.toString())), "test");
    assertTrue(e.getMessage().contains(shape.toString()) && e.getMessage().contains("conv1"), e.getMessage());
    Path garbage = dir.resolve("garbage.bin");
    Files.writeString(garbage, "not masks");
    e = fails(List.of(model(zip.toString(), garbage.toString())), "test");
    assertTrue(e.getMessage().contains("is not a mask file") && e.getMessage().contains(garbage.toString()),
        e.getMessage());
  }

  @Test
  void unknownOrEmptySplitIsRefused() throws IOException {
    EvaluateException e = fails(List.of(model(zip.toString(), null)), "validation");
    assertTrue(e.getMessage().contains("'validation'") && e.getMessage().contains("test")
        && e.getMessage().contains(data.toString()), e.getMessage());
    // a dataset whose test split has no rows (manifest rewritten; prep itself never writes an empty split)
    Path empty = dir.resolve("empty-split");
    Files.createDirectories(empty);
    ObjectMapper om = new ObjectMapper();
    ObjectNode m = (ObjectNode) om.readTree(data.resolve("manifest.json").toFile());
    ObjectNode test = (ObjectNode) m.get("splits").get("test");
    test.put("rows", 0);
    test.putArray("shards");
    Files.write(empty.resolve("manifest.json"), om.writeValueAsBytes(m));
    EvaluateOptions o = new EvaluateOptions(List.of(model(zip.toString(), null)), empty.toString(), "test",
        dir.resolve("out-empty").toString(), 0, new double[] {0}, 32, null, "local", 10, "auto", 0, 0, 0.1,
        0, new int[] {1}, "local");
    e = assertThrows(EvaluateException.class, () -> EvaluateJob.run(o, new Configuration(), () -> null, l -> { }));
    assertTrue(e.getMessage().contains("is empty") && e.getMessage().contains(empty.toString()), e.getMessage());
  }

  @Test
  void modelThatDoesNotFitTheDataIsRefused() throws IOException {
    Path five = dir.resolve("five-classes.zip");
    ModelSerializer.writeModel(EvalNets.residualBn(28, 5, 1), five.toFile(), false);
    EvaluateException e = fails(List.of(model(five.toString(), null)), "test");
    assertTrue(e.getMessage().contains(five.toString()) && e.getMessage().contains("5 outputs")
        && e.getMessage().contains("10 classes"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"0,abc", "-0.1", "0,1.5", "", " , "})
  void badEpsilonListsNameTheValue(String eps) {
    EvaluateException e = assertThrows(EvaluateException.class, () -> EvaluateOptions.parseEps(eps));
    assertTrue(e.getMessage().contains("--fgsm-eps"), e.getMessage());
    Path out = dir.resolve("out-eps");
    int code = Main.run("evaluate", "--model", zip.toString(), "--data", data.toString(), "--output", out.toString(),
        "--fgsm-eps", eps);
    assertEquals(1, code);
    assertFalse(Files.exists(out));
  }

  @Test
  void commandLineRulesAreChecked() {
    assertEquals(1, Main.run("evaluate", "--masks", "m.bin", "--model", zip.toString(), "--data", data.toString(),
        "--output", dir.resolve("o1").toString()), "--masks before any --model");
    assertEquals(1, Main.run("evaluate", "--data", data.toString(), "--output", dir.resolve("o2").toString()),
        "no model");
    List<ModelSource> two = EvaluateCommand.models(List.of("--checkpoint", "a=/x/checkpoints", "--model=b=/y.zip",
        "--masks", "/y.bin", "--model", "/z.zip"));
    assertEquals(List.of(new ModelSource(ModelSource.Kind.CHECKPOINT, "a", "/x/checkpoints", null),
        new ModelSource(ModelSource.Kind.MODEL, "b", "/y.zip", "/y.bin"),
        new ModelSource(ModelSource.Kind.MODEL, null, "/z.zip", null)), two);
    assertEquals("s3a://b/k=v/m.zip", ModelSource.parse(ModelSource.Kind.MODEL, "s3a://b/k=v/m.zip").path());
  }

  @Test
  void outputIsReplacedOnlyWhenItIsAnEarlierEvaluation() throws IOException {
    Path other = dir.resolve("not-an-evaluation");
    Files.createDirectories(other);
    Files.writeString(other.resolve("keep.txt"), "x");
    EvaluateException e = assertThrows(EvaluateException.class, () -> EvaluateJob.run(
        options(List.of(model(zip.toString(), null)), "test", other), new Configuration(), () -> null, l -> { }));
    assertTrue(e.getMessage().contains(other.toString()), e.getMessage());
    assertTrue(Files.exists(other.resolve("keep.txt")));
  }
}
