package io.sparsetrain.dataprep.image;

import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Decodes encoded images (JPEG incl. CMYK via TwelveMonkeys, PNG, GIF, BMP, TIFF) to {@link Pixels} and
 * encodes pixels as PNG. A decoder warning (e.g. "premature end of JPEG file") is treated as an error, so a
 * truncated file is never turned into a half-grey image silently.
 */
public final class ImageCodec {
  static {
    ImageIO.setUseCache(false); // no temp files in executors
    ImageIO.scanForPlugins(); // TwelveMonkeys under Spark's user class loader
  }

  private ImageCodec() {}

  /** What {@link #decode} returns: the pixels in the image's natural channel count, and the format name. */
  public static final class Decoded {
    public final Pixels pixels;
    /** Lower-case format name as ImageIO reports it: "jpeg", "png", "gif", "bmp", "tif". */
    public final String format;

    Decoded(Pixels pixels, String format) {
      this.pixels = pixels;
      this.format = format;
    }
  }

  /**
   * Decodes {@code bytes} to pixels with 1 channel (grey images) or 3 (everything else, alpha dropped).
   *
   * @throws BadImageException naming the reason: empty, not a recognized image format, corrupt or truncated
   */
  public static Decoded decode(byte[] bytes) throws BadImageException {
    if (bytes.length == 0) {
      throw new BadImageException("empty file");
    }
    try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) {
        throw new BadImageException("not a recognized image format (" + bytes.length + " bytes)");
      }
      ImageReader reader = readers.next();
      List<String> warnings = new ArrayList<>();
      try {
        reader.setInput(in, true, true);
        reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
        String format = reader.getFormatName().toLowerCase(Locale.ROOT);
        BufferedImage img = reader.read(0);
        if (!warnings.isEmpty()) {
          throw new BadImageException("corrupt or truncated " + format + " image: " + String.join("; ", warnings));
        }
        return new Decoded(toPixels(img, naturalChannels(img)), format);
      } finally {
        reader.dispose();
      }
    } catch (BadImageException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      // ImageIO reports truncation as IIOException/EOFException, some plugins as IndexOutOfBounds etc.
      throw new BadImageException("corrupt or truncated image: " + e.getClass().getSimpleName()
          + (e.getMessage() == null ? "" : ": " + e.getMessage()), e);
    }
  }

  /** 1 for single-band grey images (not palette images), else 3. */
  public static int naturalChannels(BufferedImage img) {
    Raster r = img.getRaster();
    boolean grey = r.getNumBands() <= 2 && !(img.getColorModel() instanceof IndexColorModel);
    return grey ? 1 : 3;
  }

  /**
   * Pixels of {@code img} with {@code channels} channels. Grey samples are read from the raster directly (not
   * through getRGB, which would apply a gamma conversion); RGB to grey uses ITU-R BT.601 luma, rounded.
   */
  public static Pixels toPixels(BufferedImage img, int channels) {
    int h = img.getHeight();
    int w = img.getWidth();
    byte[] out = new byte[h * w * channels];
    Raster raster = img.getRaster();
    if (naturalChannels(img) == 1) {
      int shift = raster.getDataBuffer().getDataType() == DataBuffer.TYPE_USHORT ? 8 : 0;
      int bits = img.getColorModel().getComponentSize(0);
      int[] row = new int[w];
      for (int y = 0; y < h; y++) {
        raster.getSamples(0, y, w, 1, 0, row);
        for (int x = 0; x < w; x++) {
          int g = shift > 0 ? row[x] >>> shift : scaleTo8(row[x], bits);
          for (int c = 0; c < channels; c++) {
            out[(y * w + x) * channels + c] = (byte) g;
          }
        }
      }
    } else {
      int[] argb = new int[w];
      for (int y = 0; y < h; y++) {
        img.getRGB(0, y, w, 1, argb, 0, w);
        for (int x = 0; x < w; x++) {
          int p = argb[x];
          int r = (p >>> 16) & 0xff;
          int g = (p >>> 8) & 0xff;
          int b = p & 0xff;
          int o = (y * w + x) * channels;
          if (channels == 3) {
            out[o] = (byte) r;
            out[o + 1] = (byte) g;
            out[o + 2] = (byte) b;
          } else {
            out[o] = (byte) luma(r, g, b);
          }
        }
      }
    }
    return new Pixels(h, w, channels, out);
  }

  private static int scaleTo8(int v, int bits) {
    if (bits == 8 || bits <= 0) {
      return v & 0xff;
    }
    return bits > 8 ? v >>> (bits - 8) : (v * 255) / ((1 << bits) - 1); // 1/2/4-bit grey PNGs
  }

  /** BT.601 luma of 0..255 RGB, rounded to the nearest integer. */
  public static int luma(int r, int g, int b) {
    return (299 * r + 587 * g + 114 * b + 500) / 1000;
  }

  /** The pixels as a BufferedImage (TYPE_BYTE_GRAY or TYPE_3BYTE_BGR), e.g. for encoding. */
  public static BufferedImage toImage(Pixels p) {
    int h = p.height();
    int w = p.width();
    byte[] d = p.data();
    if (p.channels() == 1) {
      BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
      img.getRaster().setDataElements(0, 0, w, h, d);
      return img;
    }
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
    byte[] bgr = new byte[d.length];
    for (int i = 0; i < d.length; i += 3) {
      bgr[i] = d[i + 2];
      bgr[i + 1] = d[i + 1];
      bgr[i + 2] = d[i];
    }
    img.getRaster().setDataElements(0, 0, w, h, bgr);
    return img;
  }

  /** Lossless PNG bytes of the pixels (8-bit grey or RGB). */
  public static byte[] encodePng(Pixels p) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(p.data().length / 2 + 64);
    try {
      if (!ImageIO.write(toImage(p), "png", out)) {
        throw new IllegalStateException("no PNG writer registered with ImageIO");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
