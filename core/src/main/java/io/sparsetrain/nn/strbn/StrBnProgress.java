package io.sparsetrain.nn.strbn;

import java.util.List;

/**
 * One training step of an STR-BN run.
 *
 * @param step steps done so far (1-based)
 * @param epoch the epoch of this step (0-based)
 * @param loss the minibatch loss (DL4J's score without the L2 terms)
 * @param regularization the L2 terms (on weights, gamma, beta_hat and the thresholds s)
 * @param layers per STR-BN layer, in topological order
 */
public record StrBnProgress(long step, int epoch, double loss, double regularization, List<Layer> layers) {

    /**
     * @param name STR-BN vertex name
     * @param channels its channels
     * @param dead channels with gamma_eff = 0
     * @param threshold g(s)
     */
    public record Layer(String name, int channels, int dead, double threshold) {
    }

    /** Dead channels over all STR-BN layers. */
    public int deadTotal() {
        return layers.stream().mapToInt(Layer::dead).sum();
    }
}
