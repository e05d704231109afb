/**
 * Per-layer mask makers of Campfire (papers/campfire-gradual-structured-pruning.txt, section 2.1):
 * unstructured magnitude, window, CK (whole kernel) and combined pruning for convolutions, block plus
 * fine pruning for dense layers, and removal of dense inputs fed by dead convolution channels.
 */
package io.sparsetrain.prune.method;
