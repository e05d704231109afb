package io.sparsetrain.nn.strbn;

/**
 * Filters (output channels of a convolution, neurons of a dense layer) before and after removal.
 *
 * @param layer vertex name of the convolution or dense layer
 * @param batchNorm vertex name of its STR-BN layer
 * @param before filters in the trained graph
 * @param dead filters whose gamma_eff is 0 at the end of training
 * @param after filters in the smaller graph; {@code before - after} were removed. Dead filters stay when the
 *     channel is joined by a residual Add to a live channel, when a constant could not be folded exactly,
 *     or to keep at least one filter
 */
public record LayerRemoval(String layer, String batchNorm, int before, int dead, int after) {

    public int removed() {
        return before - after;
    }
}
