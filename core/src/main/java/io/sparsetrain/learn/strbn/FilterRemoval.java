package io.sparsetrain.learn.strbn;

import io.sparsetrain.prune.LayerShape;
import java.util.function.DoubleUnaryOperator;

/**
 * Applies a {@link FilterRemovalPlan} to the arrays of a {@link ConvBnChain}, producing the smaller dense
 * chain of METHODS.md section 4.
 *
 * <p>A removed channel must be dead (gamma_eff = 0), so after the activation it is the constant
 * a_c = act(BN's dead output) ({@link BnForm#deadOutput}: beta for the standard form, 0 for STR-BN).
 * Its contribution to the next layer is folded into the next layer's bias:
 * {@code nextBias[o] += a_c * sum over the kernel of nextW[o, c, :, :]}. The fold is exact wherever every
 * kernel tap of the next layer sees channel c, i.e. for a next convolution without zero padding, a dense
 * next layer, or when a_c = 0 (always for STR-BN, or ReLU with beta &lt;= 0). With zero padding and
 * a_c != 0, border outputs differ by the taps that fall into the padding; {@link #foldedConstants}
 * lets the caller check this case.
 */
public final class FilterRemoval {
    /** ReLU, the usual activation between BN and the next conv. */
    public static final DoubleUnaryOperator RELU = x -> Math.max(0, x);
    /** No activation. */
    public static final DoubleUnaryOperator IDENTITY = x -> x;

    private FilterRemoval() {
    }

    /** Per channel, the constant a dead channel feeds to the next layer: act(deadOutput(beta_c)). */
    public static double[] foldedConstants(ConvBnChain chain, DoubleUnaryOperator activation) {
        double[] a = new double[chain.channels()];
        for (int c = 0; c < a.length; c++) {
            a[c] = activation.applyAsDouble(chain.bnForm().deadOutput(chain.beta()[c]));
        }
        return a;
    }

    /**
     * The chain without the plan's channels.
     *
     * @param activation the element-wise activation between BN and the next layer (e.g. {@link #RELU})
     * @throws IllegalArgumentException if the plan has another channel count, removes a channel whose
     *     gamma is not 0, or needs a bias fold into a next layer that has no bias
     */
    public static ConvBnChain apply(ConvBnChain chain, FilterRemovalPlan plan, DoubleUnaryOperator activation) {
        int channels = chain.channels();
        if (plan.channels() != channels) {
            throw new IllegalArgumentException("plan is for " + plan.channels() + " channels, chain has " + channels);
        }
        double[] constant = foldedConstants(chain, activation);
        for (int c : plan.removedChannels()) {
            if (chain.gamma()[c] != 0f) {
                throw new IllegalArgumentException("channel " + c + " is removed but its effective gamma is "
                        + chain.gamma()[c] + ", not 0; soft-threshold gamma first");
            }
            if (constant[c] != 0 && chain.nextBias() == null) {
                throw new IllegalArgumentException("channel " + c + " outputs the constant " + constant[c]
                        + " but the next layer has no bias to fold it into");
            }
        }
        int[] kept = plan.keptChannels();
        int n = kept.length;
        LayerShape cs = chain.convShape();
        int perFilter = cs.k();

        LayerShape newConv = LayerShape.conv(n, cs.inputChannels(), cs.kernelHeight(), cs.kernelWidth());
        float[] convW = new float[newConv.size()];
        for (int i = 0; i < n; i++) {
            System.arraycopy(chain.convWeights(), kept[i] * perFilter, convW, i * perFilter, perFilter);
        }
        float[] convB = chain.convBias() == null ? null : pick(chain.convBias(), kept);

        LayerShape ns = chain.nextShape();
        LayerShape newNext = withInputs(ns, n);
        int ksz = ns.kernelSize();
        float[] nextW = new float[newNext.size()];
        for (int o = 0; o < ns.outputs(); o++) {
            for (int i = 0; i < n; i++) {
                for (int t = 0; t < ksz; t++) {
                    nextW[newNext.index(o, i * ksz + t)] = chain.nextWeights()[ns.index(o, kept[i] * ksz + t)];
                }
            }
        }
        float[] nextB = chain.nextBias() == null ? null : chain.nextBias().clone();
        if (nextB != null) {
            for (int o = 0; o < ns.outputs(); o++) {
                double add = 0;
                for (int c : plan.removedChannels()) {
                    if (constant[c] == 0) {
                        continue;
                    }
                    double s = 0;
                    for (int t = 0; t < ksz; t++) {
                        s += chain.nextWeights()[ns.index(o, c * ksz + t)];
                    }
                    add += constant[c] * s;
                }
                nextB[o] = (float) (nextB[o] + add);
            }
        }
        return new ConvBnChain(newConv, convW, convB, chain.bnForm(), pick(chain.gamma(), kept),
                pick(chain.beta(), kept), pick(chain.mean(), kept), pick(chain.var(), kept), chain.eps(),
                newNext, nextW, nextB);
    }

    private static float[] pick(float[] a, int[] idx) {
        float[] out = new float[idx.length];
        for (int i = 0; i < idx.length; i++) {
            out[i] = a[idx[i]];
        }
        return out;
    }

    private static LayerShape withInputs(LayerShape s, int inputs) {
        switch (s.layout()) {
            case CONV_OUT_IN_KH_KW:
                return LayerShape.conv(s.outputs(), inputs, s.kernelHeight(), s.kernelWidth());
            case DENSE_OUT_IN:
                return LayerShape.dense(s.outputs(), inputs);
            case DENSE_IN_OUT:
                return LayerShape.denseInOut(inputs, s.outputs());
            default:
                throw new AssertionError(s.layout());
        }
    }
}
