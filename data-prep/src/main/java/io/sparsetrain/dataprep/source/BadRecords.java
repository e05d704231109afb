package io.sparsetrain.dataprep.source;

import io.sparsetrain.dataprep.DataPrepException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The bad-input policy on the driver: without {@code --skip-bad} the first bad record throws a
 * {@link DataPrepException} naming it and the reason; with it, each is recorded per split for the manifest.
 */
public final class BadRecords {
  private final boolean skip;
  private final Map<String, List<SkippedRecord>> bySplit = new LinkedHashMap<>();

  public BadRecords(boolean skip) {
    this.skip = skip;
  }

  public boolean skipping() {
    return skip;
  }

  /** Reports one bad record; throws unless skipping. */
  public void report(String split, String source, String reason) {
    if (!skip) {
      throw DataPrepException.badRecord(split, source, reason);
    }
    bySplit.computeIfAbsent(split, s -> new ArrayList<>()).add(new SkippedRecord(source, reason));
  }

  public List<SkippedRecord> skipped(String split) {
    return bySplit.getOrDefault(split, List.of());
  }
}
