/**
 * Image decoding (ImageIO + TwelveMonkeys), channel conversion, resize and crops on uint8 HWC pixel
 * arrays: the pure-Java, Spark-free half of data-prep that runs inside executor tasks.
 */
package io.sparsetrain.dataprep.image;
