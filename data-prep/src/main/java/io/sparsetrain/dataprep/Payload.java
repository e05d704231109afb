package io.sparsetrain.dataprep;

import java.util.Locale;

/** What the {@code image} column holds ({@code --payload}). */
public enum Payload {
  /** Decoded uint8 samples, HWC order (channels interleaved, RGB), height*width*channels bytes. */
  RAW,
  /**
   * Encoded image bytes: the original file when no resize/crop/channel conversion applied to it, else a
   * lossless PNG of the transformed pixels (always PNG for IDX and CIFAR). The {@code format} column says which.
   */
  ENCODED;

  public String cliName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Payload parse(String s) {
    for (Payload p : values()) {
      if (p.cliName().equalsIgnoreCase(s == null ? "" : s.trim())) {
        return p;
      }
    }
    throw new DataPrepException("--payload must be raw or encoded, got '" + s + "'");
  }
}
