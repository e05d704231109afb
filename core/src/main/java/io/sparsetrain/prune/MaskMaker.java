package io.sparsetrain.prune;

import java.util.OptionalInt;

/**
 * A pruning method: turns one layer's weights into a 0/1 {@link Mask} with a requested number of zeros.
 *
 * <p>Contract used by the global controller: {@link #makeMaskWithZeros} returns exactly {@code zeros}
 * zeros whenever {@code zeros} is a multiple of {@link #granularity} and at most {@link #maxZeros};
 * otherwise it returns the nearest count it can reach. Methods with a structurally fixed sparsity
 * (N:M) report it through {@link #fixedZeros} and ignore the requested count.
 */
public interface MaskMaker {

    /** Short name for logs and reports, e.g. "window". */
    String name();

    /**
     * Mask with {@code round(sparsity * size)} zeros (to this method's granularity).
     *
     * @param sparsity fraction of zeros, in [0, 1)
     * @throws IllegalArgumentException if sparsity is outside [0, 1) or needs more zeros than
     *     {@link #maxZeros} allows; the message names the layer
     */
    default Mask makeMask(PrunableLayer layer, double sparsity) {
        if (!(sparsity >= 0 && sparsity < 1)) {
            throw new IllegalArgumentException(
                    "sparsity must be in [0, 1), got " + sparsity + " for layer " + layer.name());
        }
        OptionalInt fixed = fixedZeros(layer.shape());
        if (fixed.isPresent()) {
            return makeMaskWithZeros(layer, fixed.getAsInt());
        }
        long zeros = Math.round(sparsity * layer.size());
        return makeMaskWithZeros(layer, (int) zeros);
    }

    /**
     * Mask with exactly {@code zeros} zeros when {@code zeros % granularity(shape) == 0}.
     *
     * @param zeros number of weights to prune, in [0, maxZeros(shape)]
     */
    Mask makeMaskWithZeros(PrunableLayer layer, int zeros);

    /** Smallest step, in weights, by which this method can change a layer's zero count (1 = any count). */
    default int granularity(LayerShape shape) {
        return 1;
    }

    /** Most zeros this method will put in a layer of this shape (a multiple of the granularity). */
    default int maxZeros(LayerShape shape) {
        return shape.size() - granularity(shape);
    }

    /** The zero count of a method whose sparsity is fixed by structure (N:M), else empty. */
    default OptionalInt fixedZeros(LayerShape shape) {
        return OptionalInt.empty();
    }

    /** Checks {@code zeros} against [0, maxZeros] with a message naming the layer and the method. */
    static void checkZeros(MaskMaker maker, PrunableLayer layer, int zeros) {
        int max = maker.maxZeros(layer.shape());
        if (zeros < 0 || zeros > max) {
            throw new IllegalArgumentException("zeros must be in [0, " + max + "] for " + maker.name()
                    + " pruning of layer " + layer.name() + " " + layer.shape() + ", got " + zeros);
        }
    }
}
