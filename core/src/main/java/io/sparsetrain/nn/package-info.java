/**
 * Sparse DL4J networks: {@link io.sparsetrain.nn.MaskedNetwork} (read, apply and freeze masks) and
 * {@link io.sparsetrain.nn.MaskEnforcingListener} (keep pruned weights at zero after each update).
 * Layers are in {@code nn.layers}, model builders in {@code nn.models}, stock/sparse conversion in
 * {@code nn.convert}, STR-BN (soft-thresholded BatchNorm, physical filter removal to a smaller dense graph) in
 * {@code nn.strbn}, inference plans (a trained graph as plain-Java steps: batch norm folded, ReLU fused, frozen N:M
 * convolutions compressed) in {@code nn.infer}.
 */
package io.sparsetrain.nn;
