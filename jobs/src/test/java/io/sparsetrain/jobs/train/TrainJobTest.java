package io.sparsetrain.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.jobs.train.checkpoint.CheckpointStore;
import io.sparsetrain.jobs.train.config.TrainConfig;
import io.sparsetrain.jobs.train.report.TrainReport;
import io.sparsetrain.prune.MaskChecksum;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** End-to-end runs of the train job on the shared local[2] session with the tiny fixture dataset. */
class TrainJobTest {

  @TempDir
  Path tmp;

  @Test
  void resumeAfterInterruptionEndsWithTheSameMasksAndStepAsAnUninterruptedRun() throws Exception {
    // uninterrupted 4-epoch run
    Path full = tmp.resolve("full");
    List<String> lines = new ArrayList<>();
    TrainJob.Result a = TrainJob.run(TrainFixtures.spark(), TrainFixtures.tinyConfig(full), false, lines::add);
    lines.forEach(System.out::println);
    assertEquals(4, a.epochs().size());
    assertTrue(a.state().frozen, "masks must be frozen after the era");
    double target = 0.5;
    assertEquals(target, a.epochs().get(3).achievedSparsity, 0.001, "global target enforced exactly");
    assertTrue(lines.stream().anyMatch(l -> l.contains("FROZEN masks")), "a line reports the freeze");
    assertTrue(lines.stream().anyMatch(l -> l.matches("epoch 1/4 step 1 round 1/\\d+ loss .* images/s elapsed .* eta .*")),
        "one progress line per averaging round: " + lines.get(1));
    assertTrue(Files.exists(full.resolve(TrainReport.METRICS)));
    assertTrue(Files.exists(full.resolve(TrainReport.HTML)));
    assertTrue(Files.size(full.resolve(TrainReport.SPARSITY_PNG)) > 1000);
    assertTrue(Files.exists(full.resolve("checkpoints").resolve(CheckpointStore.LATEST)));
    assertTrue(Files.list(full.resolve("checkpoints")).anyMatch(p -> p.getFileName().toString().startsWith("freeze-step-")));
    assertTrue(a.epochs().get(3).testTop1 > 0.3, "the tiny task is learnable: " + a.epochs().get(3).testTop1);

    // the same run interrupted in epoch 3 (after the epoch-2 checkpoint), then resumed
    Path cut = tmp.resolve("cut");
    TrainConfig c = TrainFixtures.tinyConfig(cut);
    RuntimeException crash = assertThrows(RuntimeException.class, () -> TrainJob.run(TrainFixtures.spark(), c, false,
        line -> {
          if (line.startsWith("epoch 3/4 step")) {
            throw new IllegalStateException("simulated crash");
          }
        }));
    assertEquals("simulated crash", crash.getMessage());
    // without --resume an output dir holding checkpoints is refused, naming the option
    TrainException refused = assertThrows(TrainException.class,
        () -> TrainJob.run(TrainFixtures.spark(), c, false, l -> { }));
    assertTrue(refused.getMessage().contains("--resume"), refused.getMessage());
    List<String> resumed = new ArrayList<>();
    TrainJob.Result b = TrainJob.run(TrainFixtures.spark(), c, true, resumed::add);
    assertTrue(resumed.get(0).startsWith("resuming from epoch-0001"), resumed.get(0));
    assertEquals(a.state().step, b.state().step);
    assertEquals(MaskChecksum.hex(a.masks().checksum()), MaskChecksum.hex(b.masks().checksum()));
    assertEquals(a.masks(), b.masks());
    assertEquals(4, b.epochs().size(), "history carried over the resume");
  }
}
