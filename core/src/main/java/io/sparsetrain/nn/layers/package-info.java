/**
 * Sparse convolution and dense layers for DL4J networks, computed by the sparsetrain kernel engine,
 * plus a batch normalization and a ReLU layer in plain Java ({@link io.sparsetrain.nn.layers.FastBatchNormalization},
 * {@link io.sparsetrain.nn.layers.FastRelu}, with {@link io.sparsetrain.nn.layers.FastAdd} for residual sums): once
 * the convolutions ran on the engine, DL4J's batch norm took about half of a ResNet-20 training step; its
 * activation layer and add vertex cost mostly per-op overhead on small arrays (batch-1 inference), so ours compute
 * small activations in Java and hand large ones to ND4J. The model builders use them on our layers;
 * {@code SparseConversion} swaps them in and out.
 *
 * <h2>The mask is a parameter</h2>
 * Each sparse layer stores its 0/1 mask as an extra parameter "M" beside "W" (same shape and order),
 * with a NoOp updater, no regularization and a gradient that is always exactly 0. So the mask travels
 * wherever DL4J moves parameters, with no extra plumbing: DL4J's JSON plus the flat parameter vector
 * in model zips (ModelSerializer), and DL4J Spark's parameter averaging, which averages identical
 * masks into the same mask (the driver must broadcast one mask set; {@code MaskedNetwork.maskChecksum()}
 * checks it). The price is one float per weight of memory and parameter traffic, and
 * {@code numParams()} counts the masks. The frozen flag and the N:M format are layer configuration
 * (JSON fields {@code frozen}, {@code nmN}, {@code nmM}).
 *
 * <h2>Pruned weights stay zero</h2>
 * The backward pass multiplies dW by M; every forward pass computes with W*M, and a training forward
 * pass writes W*M back if an update left a masked weight non-zero; {@code MaskEnforcingListener}
 * re-masks right after each update (momentum / Adam state from before a mask change).
 *
 * <h2>Frozen N:M masks</h2>
 * When a frozen mask is N:M, the layer computes forward, input gradient and weight gradient on the
 * compressed {@code NmMatrix}. Its pattern (indices, kernel layouts) is a transient cache built once
 * per mask from W*M and M; each step only refreshes its values from the updated weights.
 *
 * <h2>Learned masks</h2>
 * A layer configuration may carry {@link io.sparsetrain.nn.layers.MaskLearning} settings (JSON field
 * {@code maskLearning}): in {@code LEARNED_NM} mode the mask is the Gumbel-softmax / argmax N:M pattern of
 * per-group logits "A", in {@code THRESHOLD} mode 1[|W| &gt; T] of a learned threshold "T". The weights are then
 * only read, never written; {@link io.sparsetrain.nn.layers.MaskLearningGraphs} prepares a trained network
 * (everything else frozen, batch norm on its running statistics) and exports the learned masks, which a
 * fixed-mask copy applies and freezes as usual. See docs/sparsify.md.
 *
 * <h2>DL4J arrays and workspaces</h2>
 * Inputs, epsilons and parameters are copied to C-order {@code float[]} with one NIO bulk copy
 * (views and 'f' order handled); outputs and input gradients are created with the layer workspace
 * manager ({@code ACTIVATIONS} / {@code ACTIVATION_GRAD}) and filled the same way, so the layers work
 * with workspaces on and off. A training forward pass keeps its inputs, im2col columns and
 * pre-activations on the Java heap for the following backward pass; an inference pass keeps nothing and
 * unfolds its input straight into the kernels' panel layout ({@code Conv2dKernels.forward}).
 */
package io.sparsetrain.nn.layers;
