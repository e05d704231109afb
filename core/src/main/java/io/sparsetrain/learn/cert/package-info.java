/**
 * The stability certificate of the learned 2:4 mask paper (lemmas 3.1-3.5, METHODS.md section 2): spectral
 * norms by power iteration and the bound on how far masking one layer can move a classifier's output.
 */
package io.sparsetrain.learn.cert;
