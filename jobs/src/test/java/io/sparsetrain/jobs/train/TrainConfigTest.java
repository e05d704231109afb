package io.sparsetrain.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.jobs.train.config.TrainConfig;
import io.sparsetrain.jobs.train.config.TrainConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The configuration schema: recipes validate, overrides win, and every error names key, value and origin. */
class TrainConfigTest {

  @TempDir
  Path tmp;

  @ParameterizedTest
  @ValueSource(strings = {"resnet20-fashion-mnist-dense.conf", "resnet20-fashion-mnist-combined70.conf",
      "resnet20-fashion-mnist-2to4.conf"})
  void shippedRecipesValidate(String recipe) {
    TrainConfig c = TrainConfig.load(TrainFixtures.recipe(recipe).toFile(), List.of());
    assertEquals("resnet20", c.modelBuilder());
    assertTrue(c.sparseLayers(), recipe + " trains on the sparse layers");
    assertTrue(c.toString().contains("train.schedule.final-sparsity = "), c.toString());
  }

  @Test
  void defaultsComeFromTheReferenceAndMatchTheConstants() {
    TrainConfig fromRef = TrainConfig.load(null, List.of("data.path=/d", "output.dir=/o"));
    TrainConfig fromBuilder = TrainConfig.builder().dataPath("/d").outputDir("/o").build();
    assertEquals(fromBuilder.toString(), fromRef.toString());
    assertEquals(fromBuilder, fromRef);
  }

  @Test
  void overridesWinOverTheFile() {
    TrainConfig c = TrainConfig.load(TrainFixtures.recipe("resnet20-fashion-mnist-combined70.conf").toFile(),
        List.of("schedule.final-sparsity=0.8", "train.cluster.workers=3", "pruning.exclude=[s1b1_conv1]"));
    assertEquals(0.8, c.finalSparsity());
    assertEquals(3, c.workers());
    assertEquals(List.of("s1b1_conv1"), c.exclude());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "schedule.final-sparsity=1.3|train.schedule.final-sparsity must be in [0, 1), got 1.3 (from --set schedule.final-sparsity=1.3)",
      "cluster.batch-size-per-worker=0|train.cluster.batch-size-per-worker must be in [1, 65536], got 0",
      "pruning.pattern=diagonal|train.pruning.pattern must be one of none|unstructured|window|ck|combined|nm, got \"diagonal\"",
      "epochs=ten|train.epochs must be an integer, got \"ten\"",
      "schedule.start-epoch=15|the pruning era must end before the last epoch",
      "epochs=6|must be < train.epochs=6, got 2 + 4 = 6",
      "pruning.n=4|N:M mask needs 1 <= N < M <= 64, got train.pruning.n=4, train.pruning.m=4",
      "model.source=zip|train.model.path must name the DL4J model zip",
      "cluster.averaging-frequncy=3|unknown key train.cluster.averaging-frequncy (from --set cluster.averaging-frequncy=3)",
      "hadoop.\"fs.s3a.secret.key\"=x|train.hadoop must not hold credentials",
      "model.layers=dense|train.model.layers must be sparse or stock, got 'dense'",
      "model.builder=vgg16|train.model.builder must be one of resnet20|resnet32|resnet56|resnet18|lenet5|tiny-cnn",
      "data.max-train-examples=-1|train.data.max-train-examples must be >= 0",
  })
  void errorsNameKeyValueAndOrigin(String set, String expected) {
    TrainConfigException e = assertThrows(TrainConfigException.class,
        () -> TrainConfig.load(null, List.of("data.path=/d", "output.dir=/o", "epochs=7", set)));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void fileErrorsNameFileAndLine() throws Exception {
    Path f = tmp.resolve("bad.conf");
    Files.writeString(f, "train {\n  data.path = /d\n  output.dir = /o\n  optimizer.momentum = 1.5\n}\n");
    TrainConfigException e = assertThrows(TrainConfigException.class, () -> TrainConfig.load(f.toFile(), List.of()));
    assertEquals("train.optimizer.momentum must be in [0, 1), got 1.5 (from " + f + ": 4)", e.getMessage());
    assertThrows(TrainConfigException.class, () -> TrainConfig.load(tmp.resolve("missing.conf").toFile(), List.of()));
  }

  @Test
  void learningRateSchedules() {
    TrainConfig step = TrainConfig.load(null, List.of("data.path=/d", "output.dir=/o", "optimizer.learning-rate=0.1",
        "optimizer.lr-schedule.type=step", "optimizer.lr-schedule.milestones=[3, 6]", "epochs=10"));
    assertEquals(0.1, step.learningRateAt(0), 1e-12);
    assertEquals(0.01, step.learningRateAt(3), 1e-12);
    assertEquals(0.001, step.learningRateAt(9), 1e-12);
    TrainConfig cos = TrainConfig.load(null, List.of("data.path=/d", "output.dir=/o", "optimizer.learning-rate=0.1",
        "optimizer.lr-schedule.type=cosine", "epochs=10"));
    assertEquals(0.05, cos.learningRateAt(5), 1e-12);
  }
}
