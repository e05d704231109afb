/**
 * Model builders on sparse layers: {@link io.sparsetrain.nn.models.ResNets} (CIFAR-style
 * ResNet-20/32/56, ImageNet-style ResNet-18/50) and {@link io.sparsetrain.nn.models.LeNet5}, for any
 * input shape and class count, configured by {@link io.sparsetrain.nn.models.ModelSpec}.
 */
package io.sparsetrain.nn.models;
