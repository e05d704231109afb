/**
 * Input readers: ImageNet-style class folders, IDX (MNIST, Fashion-MNIST) and CIFAR-10/100 binary batches,
 * each listing its splits as {@link io.sparsetrain.dataprep.source.SourceRecord}s on the driver.
 */
package io.sparsetrain.dataprep.source;
