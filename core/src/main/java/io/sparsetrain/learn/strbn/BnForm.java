package io.sparsetrain.learn.strbn;

/**
 * How a BatchNorm layer combines its parameters, x_hat = (x - mean) / sqrt(var + eps) per channel.
 * It decides what a dead channel (gamma = 0) outputs.
 */
public enum BnForm {
    /** y = gamma * x_hat + beta; a dead channel outputs the constant beta. */
    STANDARD,
    /** y = gamma * (x_hat + beta_hat), the STR-BN rewrite; a dead channel outputs exactly 0. */
    STR_BN;

    /** BN output of channel c for a normalised input x_hat. */
    public double apply(double xHat, double gamma, double beta) {
        return this == STANDARD ? gamma * xHat + beta : gamma * (xHat + beta);
    }

    /** What a channel with gamma = 0 outputs (before the activation). */
    public double deadOutput(double beta) {
        return this == STANDARD ? beta : 0;
    }
}
