package io.sparsetrain.jobs.evaluate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The FGSM input gradient is the gradient of the network as evaluated (inference batch norm): the inference-form
 * copy gives the original's outputs, and its gradient matches central finite differences of the original's
 * inference loss.
 */
class InputGradientsTest {

  @ParameterizedTest
  @ValueSource(strings = {"sparse", "stock", "frozen-2:4", "one-channel"})
  void gradientOfTheInferenceNetworkMatchesFiniteDifferences(String kind) {
    // one-channel: single-filter convolutions and batch norms, as STR-BN's filter removal can leave
    ComputationGraph g = EvalNets.residualBn(8, 5, 3, kind.equals("one-channel") ? 1 : 4);
    if (kind.equals("stock")) {
      g = io.sparsetrain.nn.convert.SparseConversion.toStock(g);
    } else if (kind.equals("frozen-2:4")) {
      g = Certificate.withNmMasks(g, 2, 4);
      io.sparsetrain.nn.MaskedNetwork.of(g).freeze();
      assertEquals(3, io.sparsetrain.nn.MaskedNetwork.of(g).compressedLayers().size(), "compressed kernels");
    }
    INDArray x = EvalNets.images(6, 8, 11);
    INDArray y = EvalNets.oneHot(new int[] {0, 1, 2, 3, 4, 0}, 5);
    INDArray before = g.params().dup();
    InputGradients ig = InputGradients.of(g, x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 1)));
    INDArray ref = g.outputSingle(false, x);
    INDArray copy = ig.output(x);
    assertTrue(ref.equalsWithEps(copy, 1e-5), "inference-form copy changes the outputs:\n" + ref + "\n" + copy);

    INDArray grad = ig.gradient(x, y);
    assertEquals(before, g.params(), "the original network must not change (BN running statistics)");
    assertTrue(grad.amaxNumber().doubleValue() > 0, "zero gradient");
    // gradient rows are per-example d loss_i / d x_i; the score is the mean over the B = 6 examples, so the
    // directional derivative along sign(grad) is (L(x + h v) - L(x - h v)) / 2h = ||grad||_1 / B
    INDArray v = Transforms.sign(grad);
    double h = 1e-3;
    double lp = g.score(new DataSet(x.add(v.mul(h)), y), false);
    double lm = g.score(new DataSet(x.sub(v.mul(h)), y), false);
    double numeric = (lp - lm) / (2 * h);
    double analytic = grad.norm1Number().doubleValue() / x.size(0);
    assertEquals(analytic, numeric, 0.05 * analytic, "directional derivative");
    // and along a few single coordinates with the largest gradient
    INDArray flat = grad.reshape(grad.length());
    for (int k = 0; k < 3; k++) {
      long j = Nd4j.argMax(Transforms.abs(flat)).getLong(0);
      INDArray e = Nd4j.zeros(x.dataType(), x.length());
      e.putScalar(j, 1.0);
      e = e.reshape(x.shape());
      double hp = g.score(new DataSet(x.add(e.mul(1e-2)), y), false);
      double hm = g.score(new DataSet(x.sub(e.mul(1e-2)), y), false);
      double num = (hp - hm) / 2e-2;
      double perExample = flat.getDouble(j) / x.size(0);
      assertEquals(perExample, num, 0.1 * Math.abs(perExample) + 1e-4, "coordinate " + j);
      flat.putScalar(j, 0);
    }
  }
}
