/**
 * STR-BN structured pruning on DL4J graphs (METHODS.md section 4; Kusupati 2020): batch norms rewritten as
 * Y = gamma_eff * (X_hat + beta_hat) with gamma_eff = sign(gamma) * relu(|gamma| - g(s)) and a learnable
 * threshold s per layer ({@link io.sparsetrain.nn.strbn.StrBatchNormalization}), trained, and the dead
 * filters physically removed into a smaller dense graph.
 *
 * <h2>API</h2>
 * <pre>
 *   StrBnResult r = StrBnSparsifier.run(trainedGraph, trainIterator, StrBnOptions.builder()...build(), progress -&gt; log(progress));
 *   r.smaller();          // smaller ComputationGraph, same layer classes (sparse layers stay sparse)
 *   r.model();            // the smaller graph after fineTuneEpochs of plain training (or r.smaller() without)
 *   r.layers();           // per conv / hidden dense layer: filters before, dead, after
 *   r.before(), r.after() // ModelCost: parameters and multiply-adds per image
 *   r.summary();          // table for the job log
 * </pre>
 * The steps are public too: {@link io.sparsetrain.nn.strbn.StrBnConversion#convert} (trained graph to STR-BN
 * form, exact at g(s) = 0, checked), then any training, then {@link io.sparsetrain.nn.strbn.StrBnRemoval#remove}.
 * The trained graph is never modified. Graphs supported: NCHW convolutions and dense layers (stock or sparse),
 * batch norms (DL4J's, FastBatchNormalization), activation, max/avg pooling, global pooling, dropout,
 * element-wise Add and an OutputLayer, with CNN-to-feed-forward preprocessors (our ResNets and LeNet-5);
 * anything else fails with an IllegalArgumentException naming the vertex.
 *
 * <h2>Choices</h2>
 * <ul>
 *   <li>Layers without a batch norm (LeNet-5) get an STR-BN layer inserted after them (after their activation),
 *       initialised to the identity from a calibration batch; in the smaller graph it stays as a
 *       FastBatchNormalization (folding it into the next layer would not be exact through max pooling
 *       with a negative scale or into zero padding).</li>
 *   <li>Residual streams: channels joined by an Add are removed only where every batch norm feeding the stream
 *       is dead; otherwise they stay in every layer of the stream (noted in the result).</li>
 *   <li>A dead channel outputs 0, so in ReLU networks nothing needs folding; a non-zero constant (other
 *       activations) is folded into the consumer's bias where exact, else the channel stays.</li>
 *   <li>The STR-BN layer computes in double precision (gradient checks); it is used for training only.</li>
 * </ul>
 *
 * <h2>Settings</h2>
 * {@link io.sparsetrain.nn.strbn.StrBnOptions#defaults()} are the STR-BN reference settings for 100 epochs
 * from scratch and remove next to nothing in a few epochs. On 768 Fashion-MNIST images, 2 epochs of batch 32
 * (48 steps) after a short normal training, the tests used: LeNet-5 lr 0.02, s0 = -3, threshold decay 0.2,
 * weight decay 5e-4 (55 of 120 fc1 and 36 of 84 fc2 neurons, 1 of 16 conv2 filters removed, half the
 * parameters); ResNet-8 of width 8 lr 0.05, s0 = -2, threshold decay 0.5, gamma decay 0.1 (about 80% of
 * filters dead, an over-pruned model: the mechanics test, not a recipe). With gamma decay 0.05 instead,
 * no ResNet filter died in 48 steps: the pressure has a sharp onset, so tune it on the real run.
 */
package io.sparsetrain.nn.strbn;
