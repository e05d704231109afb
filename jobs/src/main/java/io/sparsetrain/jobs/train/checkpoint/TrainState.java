package io.sparsetrain.jobs.train.checkpoint;

import io.sparsetrain.jobs.train.report.EpochRecord;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a run stands, saved as {@code state.json} in every checkpoint (Jackson bean, versioned): the next epoch
 * and round to run, the schedule position, seeds, mask checksum and freeze flag, and the per-epoch history.
 */
public final class TrainState {
  public static final int FORMAT_VERSION = 1;

  public int formatVersion = FORMAT_VERSION;
  /** Run name (train.name). */
  public String name;
  /** Why this checkpoint was written: epoch-end | freeze. */
  public String reason;
  /** Next epoch to run (0-based). */
  public int epoch;
  /** Next averaging round inside {@link #epoch} (0 = start of the epoch). */
  public int roundInEpoch;
  /** Averaging rounds done so far = schedule steps done. */
  public long step;
  /** Rounds per epoch the schedule was built with (a resume with another data/cluster layout is refused). */
  public long roundsPerEpoch;
  /** train.seed. */
  public long seed;
  /** Scheduled global sparsity after the last done step. */
  public double scheduledSparsity;
  public boolean frozen;
  /** MaskChecksum of masks.bin, 16 hex digits. */
  public String maskChecksum;
  public double elapsedSeconds;
  /** The run's validated configuration (train.* keys), so that a branch ({@code --init-from}) can be checked. */
  public java.util.Map<String, Object> config;
  /** The checkpoint this run was initialised from with {@code --init-from}, or null. */
  public String initializedFrom;
  public List<EpochRecord> history = new ArrayList<>();
}
