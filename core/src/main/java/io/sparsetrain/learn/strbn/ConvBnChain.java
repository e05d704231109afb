package io.sparsetrain.learn.strbn;

import io.sparsetrain.prune.LayerShape;
import java.util.Objects;

/**
 * The plain arrays of a chain conv -&gt; BN -&gt; (activation) -&gt; next layer, the unit STR-BN removes
 * filters from. Arrays are not copied.
 *
 * @param convShape the first convolution, {@code [Cout, Cin, kh, kw]}
 * @param convWeights its weights, row-major
 * @param convBias its bias {@code [Cout]}, or null
 * @param bnForm how the BN combines gamma and beta
 * @param gamma BN scale {@code [Cout]}, the effective (soft-thresholded) values
 * @param beta BN shift {@code [Cout]} (beta_hat for {@link BnForm#STR_BN})
 * @param mean BN running mean {@code [Cout]}
 * @param var BN running variance {@code [Cout]}
 * @param eps BN epsilon
 * @param nextShape the consuming layer: a convolution with Cin = Cout, or a dense layer with Cout inputs
 *     (after global pooling); any {@link LayerShape.Layout}
 * @param nextWeights its weights in its storage layout
 * @param nextBias its bias {@code [outputs]}, or null (no bias; then dead channels must fold to zero)
 */
public record ConvBnChain(LayerShape convShape, float[] convWeights, float[] convBias, BnForm bnForm,
                          float[] gamma, float[] beta, float[] mean, float[] var, double eps,
                          LayerShape nextShape, float[] nextWeights, float[] nextBias) {

    /** Validates every length against the shapes. */
    public ConvBnChain {
        Objects.requireNonNull(convShape, "convShape");
        Objects.requireNonNull(bnForm, "bnForm");
        Objects.requireNonNull(nextShape, "nextShape");
        if (!convShape.isConv()) {
            throw new IllegalArgumentException("convShape must be a convolution, got " + convShape);
        }
        int c = convShape.outputs();
        length("convWeights", convWeights, convShape.size());
        if (convBias != null) {
            length("convBias", convBias, c);
        }
        length("gamma", gamma, c);
        length("beta", beta, c);
        length("mean", mean, c);
        length("var", var, c);
        if (!(eps >= 0)) {
            throw new IllegalArgumentException("eps must be >= 0, got " + eps);
        }
        if (nextShape.inputChannels() != c) {
            throw new IllegalArgumentException("next layer " + nextShape + " has " + nextShape.inputChannels()
                    + " input channels but the conv has " + c + " output filters");
        }
        length("nextWeights", nextWeights, nextShape.size());
        if (nextBias != null) {
            length("nextBias", nextBias, nextShape.outputs());
        }
    }

    private static void length(String name, float[] a, int expected) {
        Objects.requireNonNull(a, name);
        if (a.length != expected) {
            throw new IllegalArgumentException(name + " has length " + a.length + ", expected " + expected);
        }
    }

    /** Output filters of the conv (= BN channels = input channels of the next layer). */
    public int channels() {
        return convShape.outputs();
    }
}
