package io.sparsetrain.dataprep;

import java.io.Serializable;

/**
 * A target size: {@code "HxW"} (exact height and width, pixels) or, for {@code --resize}, a single number
 * {@code "S"} meaning "shorter side to S pixels, aspect ratio kept". For {@code --center-crop} "S" means SxS.
 */
public final class TargetSize implements Serializable {
  private static final long serialVersionUID = 1L;
  public static final int MAX_SIDE = 8192;

  private int height;
  private int width;
  private boolean shorterSide;

  private TargetSize(int height, int width, boolean shorterSide) {
    this.height = height;
    this.width = width;
    this.shorterSide = shorterSide;
  }

  public static TargetSize exact(int height, int width) {
    return new TargetSize(height, width, false);
  }

  public static TargetSize shorterSide(int side) {
    return new TargetSize(side, side, true);
  }

  /** Parses "HxW" or "S"; {@code option} names the option in the error message. */
  public static TargetSize parse(String option, String s, boolean allowShorterSide) {
    String v = s == null ? "" : s.trim().toLowerCase(java.util.Locale.ROOT);
    try {
      if (v.matches("\\d+x\\d+")) {
        String[] hw = v.split("x");
        return check(option, s, new TargetSize(Integer.parseInt(hw[0]), Integer.parseInt(hw[1]), false));
      }
      if (v.matches("\\d+")) {
        int side = Integer.parseInt(v);
        return check(option, s, new TargetSize(side, side, allowShorterSide));
      }
    } catch (NumberFormatException e) {
      // falls through to the message below
    }
    throw new DataPrepException(option + " must look like HxW (e.g. 224x224)"
        + (allowShorterSide ? " or S (shorter side, e.g. 256)" : " or S (SxS)") + ", got '" + s + "'");
  }

  private static TargetSize check(String option, String s, TargetSize r) {
    if (r.height < 1 || r.width < 1 || r.height > MAX_SIDE || r.width > MAX_SIDE) {
      throw new DataPrepException(option + " sides must be in 1.." + MAX_SIDE + ", got '" + s + "'");
    }
    return r;
  }

  public int height() {
    return height;
  }

  public int width() {
    return width;
  }

  public boolean isShorterSide() {
    return shorterSide;
  }

  @Override
  public String toString() {
    return shorterSide ? Integer.toString(height) : height + "x" + width;
  }
}
