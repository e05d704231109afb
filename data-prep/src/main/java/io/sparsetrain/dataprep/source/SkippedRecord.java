package io.sparsetrain.dataprep.source;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.io.Serializable;

/** A record left out under {@code --skip-bad}: where it was and why. Listed in the manifest. */
@JsonPropertyOrder({"source", "reason"})
public final class SkippedRecord implements Serializable, Comparable<SkippedRecord> {
  private static final long serialVersionUID = 1L;

  public String source;
  public String reason;

  public SkippedRecord() {}

  public SkippedRecord(String source, String reason) {
    this.source = source;
    this.reason = reason;
  }

  @Override
  public int compareTo(SkippedRecord o) {
    return source.compareTo(o.source);
  }

  @Override
  public String toString() {
    return source + ": " + reason;
  }
}
