/**
 * Inference outside DL4J's graph: {@link io.sparsetrain.nn.infer.InferencePlan} compiles a trained
 * network into plain-Java steps on the kernel engine (batch norm folded into convolutions, ReLU
 * fused, frozen N:M convolutions on their compressed matrices).
 */
package io.sparsetrain.nn.infer;
