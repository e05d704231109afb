package io.sparsetrain.jobs.sparsify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.dataprep.BatchOptions;
import io.sparsetrain.dataprep.ParquetDataSets;
import io.sparsetrain.learn.nm.GumbelNmMask;
import io.sparsetrain.nn.layers.MaskLearning;
import io.sparsetrain.nn.layers.MaskLearningGraphs;
import io.sparsetrain.nn.layers.MaskLearningLayer;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

/**
 * learned-nm {@code --distill}: the workers' loss is KL(softmax(dense) || softmax(sparse)) against the original
 * model, computed independently here, and the labels play no part in it.
 */
class WorkerObjectiveDistillTest {

  static SparsifyOptions options(boolean distill) {
    return SparsifyJobTest.base(Path.of("unused"), "learned-nm").distill(distill).build();
  }

  static byte[] zip(ComputationGraph g) throws Exception {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    ModelSerializer.writeModel(g, b, false);
    return b.toByteArray();
  }

  @Test
  void distillLossIsTheKlToTheOriginalModelAndIgnoresTheLabels() throws Exception {
    ComputationGraph original = SparsifyJobTest.original();
    SparsifyOptions o = options(true);
    ComputationGraph g = MaskLearningGraphs.prepare(original,
        MaskLearning.learnedNm(2, 4, 1.0, false).withNoiseSeed(o.seed()), new Adam(0.05), name -> true, false);
    for (MaskLearningLayer l : MaskLearningGraphs.learningLayers(g)) {
      l.initLogits(GumbelNmMask.builder().nm(2, 4).init(GumbelNmMask.Init.MAGNITUDE).seed(o.seed()).build());
    }
    float[] vector = MaskLearningGraphs.learnedVector(g);
    DataSet batch = ParquetDataSets.localIterator(SparsifyFixtures.dataset().toString(), "train",
        BatchOptions.builder().batchSize(32).normalization(BatchOptions.Normalization.UNIT).build(), new Configuration()).next();

    WorkerObjective objective = new WorkerObjective(o, 100);
    assertThrows(IllegalStateException.class, () -> objective.load(zip(g), null), "distill without a teacher");
    WorkerObjective.Model m = objective.load(zip(g), zip(original));
    objective.setVector(m, vector);
    WorkerObjective.Step step = objective.step(m, vector, batch, 3, 17);

    // independently: p from the original model, q from the learning graph's training pass with the same noise
    INDArray p = original.outputSingle(false, batch.getFeatures()).castTo(DataType.DOUBLE);
    for (MaskLearningLayer l : m.layers) {
      l.setNoiseStep(17); // each forward pass advances the layer's noise counter
    }
    INDArray q = m.graph.outputSingle(true, batch.getFeatures()).castTo(DataType.DOUBLE);
    double kl = 0;
    for (int i = 0; i < p.rows(); i++) {
      for (int c = 0; c < p.columns(); c++) {
        double pi = p.getDouble(i, c);
        kl += pi > 0 ? pi * Math.log(pi / q.getDouble(i, c)) : 0;
      }
    }
    kl /= p.rows();
    assertTrue(kl > 1e-4, "the 2:4 network differs from the dense one: KL " + kl);
    assertEquals(kl, step.loss(), 1e-4 + 1e-3 * kl, "worker loss vs KL computed from the two models' outputs");

    // the labels are not used: shuffled labels give the same loss and gradient
    INDArray shuffled = Nd4j.concat(0, batch.getLabels().get(org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 32),
        org.nd4j.linalg.indexing.NDArrayIndex.all()), batch.getLabels().getRow(0, true));
    objective.setVector(m, vector);
    WorkerObjective.Step again = objective.step(m, vector, new DataSet(batch.getFeatures(), shuffled), 3, 17);
    assertEquals(step.loss(), again.loss(), 1e-9);
    assertArrayEquals(step.gradient(), again.gradient(), 1e-9f);

    // without --distill the loss is the labels' cross-entropy, which the shuffle changes
    WorkerObjective labelled = new WorkerObjective(options(false), 100);
    WorkerObjective.Model lm = labelled.load(zip(g), null);
    labelled.setVector(lm, vector);
    double ce = labelled.step(lm, vector, batch, 3, 17).loss();
    labelled.setVector(lm, vector);
    double ceShuffled = labelled.step(lm, vector, new DataSet(batch.getFeatures(), shuffled), 3, 17).loss();
    assertFalse(Math.abs(ce - ceShuffled) < 1e-6, "cross-entropy " + ce + " vs shuffled " + ceShuffled);
  }
}
