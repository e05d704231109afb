package io.sparsetrain.dataprep.image;

/**
 * Geometric and colour transforms on uint8 HWC {@link Pixels}, all deterministic (integer-exact, no Java2D):
 * bilinear resize (pixel centres aligned), center crop, and grey/RGB conversion.
 */
public final class ImageTransforms {
  private ImageTransforms() {}

  /** The same pixels with {@code channels} channels: grey replicated to RGB, or RGB to BT.601 luma. */
  public static Pixels convertChannels(Pixels p, int channels) {
    if (p.channels() == channels) {
      return p;
    }
    int n = p.height() * p.width();
    byte[] in = p.data();
    byte[] out = new byte[n * channels];
    if (channels == 3) {
      for (int i = 0; i < n; i++) {
        out[3 * i] = in[i];
        out[3 * i + 1] = in[i];
        out[3 * i + 2] = in[i];
      }
    } else {
      for (int i = 0; i < n; i++) {
        out[i] = (byte) ImageCodec.luma(in[3 * i] & 0xff, in[3 * i + 1] & 0xff, in[3 * i + 2] & 0xff);
      }
    }
    return new Pixels(p.height(), p.width(), channels, out);
  }

  /** Bilinear resize to exactly {@code height x width} (aspect ratio not kept); same size returns {@code p}. */
  public static Pixels resize(Pixels p, int height, int width) {
    if (p.height() == height && p.width() == width) {
      return p;
    }
    int c = p.channels();
    int sh = p.height();
    int sw = p.width();
    byte[] in = p.data();
    byte[] out = new byte[height * width * c];
    double sy = (double) sh / height;
    double sx = (double) sw / width;
    int[] x0 = new int[width];
    int[] x1 = new int[width];
    double[] fx = new double[width];
    for (int x = 0; x < width; x++) {
      double src = Math.max(0, (x + 0.5) * sx - 0.5);
      x0[x] = Math.min((int) src, sw - 1);
      x1[x] = Math.min(x0[x] + 1, sw - 1);
      fx[x] = src - x0[x];
    }
    for (int y = 0; y < height; y++) {
      double src = Math.max(0, (y + 0.5) * sy - 0.5);
      int y0 = Math.min((int) src, sh - 1);
      int y1 = Math.min(y0 + 1, sh - 1);
      double fy = src - y0;
      for (int x = 0; x < width; x++) {
        for (int k = 0; k < c; k++) {
          double a = in[(y0 * sw + x0[x]) * c + k] & 0xff;
          double b = in[(y0 * sw + x1[x]) * c + k] & 0xff;
          double d = in[(y1 * sw + x0[x]) * c + k] & 0xff;
          double e = in[(y1 * sw + x1[x]) * c + k] & 0xff;
          double top = a + (b - a) * fx[x];
          double bottom = d + (e - d) * fx[x];
          out[(y * width + x) * c + k] = (byte) Math.min(255, (int) Math.round(top + (bottom - top) * fy));
        }
      }
    }
    return new Pixels(height, width, c, out);
  }

  /** Resize so that the shorter side is {@code side}, keeping the aspect ratio (longer side rounded). */
  public static Pixels resizeShorterSide(Pixels p, int side) {
    int h = p.height();
    int w = p.width();
    if (h <= w) {
      return resize(p, side, Math.max(1, (int) Math.round((double) w * side / h)));
    }
    return resize(p, Math.max(1, (int) Math.round((double) h * side / w)), side);
  }

  /**
   * The central {@code height x width} region. An image smaller than that in either dimension is first scaled
   * up (aspect kept) until it covers the crop.
   */
  public static Pixels centerCrop(Pixels p, int height, int width) {
    if (p.height() < height || p.width() < width) {
      double scale = Math.max((double) height / p.height(), (double) width / p.width());
      int nh = Math.max(height, (int) Math.ceil(p.height() * scale));
      int nw = Math.max(width, (int) Math.ceil(p.width() * scale));
      p = resize(p, nh, nw);
    }
    if (p.height() == height && p.width() == width) {
      return p;
    }
    int top = (p.height() - height) / 2;
    int left = (p.width() - width) / 2;
    int c = p.channels();
    byte[] out = new byte[height * width * c];
    for (int y = 0; y < height; y++) {
      System.arraycopy(p.data(), ((top + y) * p.width() + left) * c, out, y * width * c, width * c);
    }
    return new Pixels(height, width, c, out);
  }
}
