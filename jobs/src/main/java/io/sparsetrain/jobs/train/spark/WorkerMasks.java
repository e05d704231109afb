package io.sparsetrain.jobs.train.spark;

import io.sparsetrain.prune.MaskChecksum;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.MalformedMaskException;
import java.io.Serializable;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The masks workers must enforce during one averaging round, as shipped to them: the serialized {@link MaskSet}
 * (versioned format) and, separately, the driver's checksums (whole set and per layer). A worker decodes the
 * masks and {@link #verify()}s them against the driver's checksums before it trains, so that a worker holding a
 * different mask fails loudly instead of silently un-zeroing weights in the average (METHODS.md section 5).
 *
 * <p>For networks on sparse layers the masks are the layers' "M" parameters and reach the workers with the
 * parameters: then only the checksums are shipped ({@link #checksumsOf}) and the worker checks the masks its
 * network holds ({@link #verifyWorker}).
 */
public final class WorkerMasks implements Serializable {
  private static final long serialVersionUID = 1L;

  private final byte[] maskBytes;
  private final long driverChecksum;
  private final TreeMap<String, Long> driverLayerChecksums;
  private final long step;
  private final boolean frozen;

  private WorkerMasks(byte[] maskBytes, long driverChecksum, Map<String, Long> layerChecksums, long step,
      boolean frozen) {
    this.maskBytes = maskBytes;
    this.driverChecksum = driverChecksum;
    this.driverLayerChecksums = new TreeMap<>(layerChecksums);
    this.step = step;
    this.frozen = frozen;
  }

  /** What the driver ships for its current masks at a schedule step. */
  public static WorkerMasks of(MaskSet driverMasks, long step, boolean frozen) {
    return withChecksumsOf(driverMasks, driverMasks, step, frozen);
  }

  /**
   * Ships {@code shipped} while announcing the checksums of {@code driver}. Only a corrupted transfer or a test
   * makes these differ.
   */
  public static WorkerMasks withChecksumsOf(MaskSet shipped, MaskSet driver, long step, boolean frozen) {
    Map<String, Long> layers = new TreeMap<>();
    for (String n : driver.names()) {
      layers.put(n, MaskChecksum.of(driver.get(n)));
    }
    return new WorkerMasks(shipped.toBytes(), MaskChecksum.of(driver), layers, step, frozen);
  }

  /** Only the driver's checksums, for networks whose masks travel as parameters (sparse layers). */
  public static WorkerMasks checksumsOf(MaskSet driverMasks, long step, boolean frozen) {
    Map<String, Long> layers = new TreeMap<>();
    for (String n : driverMasks.names()) {
      layers.put(n, MaskChecksum.of(driverMasks.get(n)));
    }
    return new WorkerMasks(null, MaskChecksum.of(driverMasks), layers, step, frozen);
  }

  /** True when the masks themselves are shipped (stock layers); false when only checksums are. */
  public boolean shipsMasks() {
    return maskBytes != null;
  }

  /**
   * Checks the masks a worker's network holds against the driver's checksums.
   *
   * @throws MaskChecksumMismatchException naming the first differing layer and both checksums
   */
  public void verifyWorker(MaskSet workerMasks) {
    for (Map.Entry<String, Long> e : driverLayerChecksums.entrySet()) {
      String layer = e.getKey();
      if (!workerMasks.contains(layer)) {
        throw new MaskChecksumMismatchException(layer, e.getValue(), 0L, step, "the worker network has no mask for it");
      }
      long w = MaskChecksum.of(workerMasks.get(layer));
      if (w != e.getValue()) {
        throw new MaskChecksumMismatchException(layer, e.getValue(), w, step, null);
      }
    }
  }

  /** Decodes the shipped masks (fails on an unknown format version). */
  public MaskSet decode() {
    if (maskBytes == null) {
      throw new IllegalStateException("only checksums were shipped (schedule step " + step
          + "): the masks are in the network's parameters");
    }
    try {
      return MaskSet.fromBytes(maskBytes);
    } catch (MalformedMaskException e) {
      throw new IllegalStateException("worker cannot decode the driver's masks (schedule step " + step + "): "
          + e.getMessage(), e);
    }
  }

  /**
   * Decodes and checks the shipped masks against the driver's checksums.
   *
   * @throws MaskChecksumMismatchException naming the first differing layer and both checksums
   */
  public MaskSet verify() {
    MaskSet masks = decode();
    long worker = MaskChecksum.of(masks);
    if (worker == driverChecksum) {
      return masks;
    }
    for (Map.Entry<String, Long> e : driverLayerChecksums.entrySet()) {
      String layer = e.getKey();
      if (!masks.contains(layer)) {
        throw new MaskChecksumMismatchException(layer, e.getValue(), 0L, step, "the worker has no mask for it");
      }
      long w = MaskChecksum.of(masks.get(layer));
      if (w != e.getValue()) {
        throw new MaskChecksumMismatchException(layer, e.getValue(), w, step, null);
      }
    }
    throw new MaskChecksumMismatchException("(mask set)", driverChecksum, worker, step,
        "layers " + masks.names() + " vs driver " + driverLayerChecksums.keySet());
  }

  public long driverChecksum() {
    return driverChecksum;
  }

  public Map<String, Long> driverLayerChecksums() {
    return Collections.unmodifiableMap(driverLayerChecksums);
  }

  public long step() {
    return step;
  }

  public boolean frozen() {
    return frozen;
  }

  public boolean isEmpty() {
    return driverLayerChecksums.isEmpty();
  }

  /** A worker's mask differs from the driver's. */
  public static final class MaskChecksumMismatchException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    MaskChecksumMismatchException(String layer, long driver, long worker, long step, String detail) {
      super("mask checksum mismatch on worker for layer " + layer + ": driver " + MaskChecksum.hex(driver)
          + ", worker " + MaskChecksum.hex(worker) + " (schedule step " + step + ")"
          + (detail == null ? "" : "; " + detail)
          + ". Every worker must hold the driver's masks, else averaging resurrects pruned weights.");
    }
  }
}
