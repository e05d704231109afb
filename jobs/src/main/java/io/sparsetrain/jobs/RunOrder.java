package io.sparsetrain.jobs;

import java.util.Locale;
import java.util.Random;

/** What the long-running jobs (train, sparsify) share: the seeded per-epoch minibatch order and time formatting. */
public final class RunOrder {
  private RunOrder() {}

  /**
   * position[b] = place of minibatch b in the epoch's order (seeded Fisher-Yates on (seed, epoch)), so that an
   * epoch's order depends on nothing but the seed and the epoch, and a resumed run sees the same order.
   */
  public static int[] epochOrder(int numBatches, long seed, int epoch) {
    int[] order = new int[numBatches];
    for (int i = 0; i < numBatches; i++) {
      order[i] = i;
    }
    Random rnd = new Random(seed * 1_000_003L + epoch);
    for (int i = numBatches - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    int[] position = new int[numBatches];
    for (int p = 0; p < numBatches; p++) {
      position[order[p]] = p;
    }
    return position;
  }

  /** Seconds as hh:mm:ss ("--:--:--" when unknown). */
  public static String hms(double seconds) {
    if (!Double.isFinite(seconds) || seconds < 0) {
      return "--:--:--";
    }
    long s = Math.round(seconds);
    return String.format(Locale.ROOT, "%02d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  }
}
