package io.sparsetrain.nn.strbn;

/** Called after every STR-BN training step, on the training thread. */
@FunctionalInterface
public interface StrBnProgressListener {

    void onStep(StrBnProgress progress);

    /** A listener that ignores everything. */
    static StrBnProgressListener none() {
        return p -> {
        };
    }
}
