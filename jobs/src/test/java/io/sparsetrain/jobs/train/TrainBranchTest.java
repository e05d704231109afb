package io.sparsetrain.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.jobs.train.checkpoint.CheckpointStore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --init-from}: a pruning run branching off a dense run's checkpoint taken before its era must end exactly
 * where the same pruning run trained from scratch ends (the dense prefix is the same computation), and branches
 * that would not be that run are refused naming why.
 */
class TrainBranchTest {

  @TempDir
  Path tmp;

  @Test
  void branchingOffADenseRunEqualsTrainingFromScratch() {
    // the pruning run from scratch: dense epoch 1, era epochs 2-3, frozen epoch 4
    TrainJob.Result scratch = TrainJob.run(TrainFixtures.spark(), TrainFixtures.tinyConfig(tmp.resolve("scratch")),
        false, l -> { });
    // the dense run with the same seed, data, model and optimizer
    Path dense = tmp.resolve("dense");
    TrainJob.Result d = TrainJob.run(TrainFixtures.spark(), TrainFixtures.tinyConfig(dense, "name=tiny-dense",
        "pruning.pattern=none", "schedule.final-sparsity=0", "epochs=4"), false, l -> { });
    assertEquals(0.0, d.epochs().get(3).achievedSparsity, 0.0);

    // branch off the dense run's checkpoint at the end of epoch 1 (= the era start)
    String from = dense.resolve("checkpoints").resolve(CheckpointStore.epochName(0)).toString();
    List<String> lines = new ArrayList<>();
    TrainJob.Result b = TrainJob.run(TrainFixtures.spark(), TrainFixtures.tinyConfig(tmp.resolve("branch")), false,
        from, lines::add);
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("initialised from " + from + " (run tiny-dense): epoch 2")),
        String.join("\n", lines));
    assertTrue(lines.stream().noneMatch(l -> l.startsWith("epoch 1/4")), "epoch 1 is the dense run's, not re-run");
    assertEquals(scratch.state().step, b.state().step);
    assertEquals(scratch.masks(), b.masks(), "same final masks as the run from scratch");
    assertEquals(4, b.epochs().size(), "the dense epoch is carried in the history");
    assertEquals(scratch.epochs().get(3).achievedSparsity, b.epochs().get(3).achievedSparsity, 0.0);
    assertEquals(scratch.epochs().get(3).trainLoss, b.epochs().get(3).trainLoss, 1e-6);

    // refused: a checkpoint past this run's era start, and one trained with another seed
    TrainException late = assertThrows(TrainException.class, () -> TrainJob.run(TrainFixtures.spark(),
        TrainFixtures.tinyConfig(tmp.resolve("late")), false,
        dense.resolve("checkpoints").resolve(CheckpointStore.epochName(2)).toString(), l -> { }));
    assertTrue(late.getMessage().contains("past this run's pruning era start"), late.getMessage());
    TrainException seed = assertThrows(TrainException.class, () -> TrainJob.run(TrainFixtures.spark(),
        TrainFixtures.tinyConfig(tmp.resolve("seed"), "seed=8"), false, from, l -> { }));
    assertTrue(seed.getMessage().contains("seed 7") && seed.getMessage().contains("seed 8"), seed.getMessage());
    TrainException lr = assertThrows(TrainException.class, () -> TrainJob.run(TrainFixtures.spark(),
        TrainFixtures.tinyConfig(tmp.resolve("lr"), "optimizer.learning-rate=0.02"), false, from, l -> { }));
    assertTrue(lr.getMessage().contains("train.optimizer.learning-rate = 0.02 here, 0.01 there"), lr.getMessage());
    // a pruned (frozen) checkpoint cannot be branched from
    TrainException frozen = assertThrows(TrainException.class, () -> TrainJob.run(TrainFixtures.spark(),
        TrainFixtures.tinyConfig(tmp.resolve("frozen")), false, tmp.resolve("scratch").toString(), l -> { }));
    assertTrue(frozen.getMessage().contains("frozen"), frozen.getMessage());
  }
}
