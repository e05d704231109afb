package io.sparsetrain.nn.models;

/** Which layer implementation a model builder uses for its convolutions and hidden dense layers. */
public enum LayerKind {
    /** {@code SparseConvolution} / {@code SparseDense} on the sparsetrain kernel engine. */
    SPARSE,
    /** DL4J's own {@code ConvolutionLayer} / {@code DenseLayer} (for baselines and export). */
    STOCK
}
