package io.sparsetrain.dataprep.source;

import java.util.List;

/** The records of one split as listed on the driver, in a deterministic (input) order. */
public final class SplitListing {
  private final String split;
  private final List<SourceRecord> records;

  public SplitListing(String split, List<SourceRecord> records) {
    this.split = split;
    this.records = records;
  }

  public String split() {
    return split;
  }

  public List<SourceRecord> records() {
    return records;
  }
}
