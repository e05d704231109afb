package io.sparsetrain.dataprep;

import java.util.Locale;

/** The input collections data-prep understands ({@code --format}). */
public enum InputFormat {
  /** ImageNet-style {@code <split>/<class>/**.(jpg|jpeg|png|bmp|gif|tif|tiff)}, any case, nested. */
  FOLDERS,
  /** IDX ubyte files ({@code <prefix>-images-idx3-ubyte[.gz]} + {@code <prefix>-labels-idx1-ubyte[.gz]}). */
  IDX,
  /** CIFAR-10 binary batches ({@code data_batch_*.bin}, {@code test_batch.bin}, {@code batches.meta.txt}). */
  CIFAR10,
  /** CIFAR-100 binary ({@code train.bin}, {@code test.bin}, fine labels, {@code fine_label_names.txt}). */
  CIFAR100;

  public String cliName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static InputFormat parse(String s) {
    for (InputFormat f : values()) {
      if (f.cliName().equalsIgnoreCase(s == null ? "" : s.trim())) {
        return f;
      }
    }
    throw new DataPrepException("--format must be one of folders|idx|cifar10|cifar100, got '" + s + "'");
  }
}
