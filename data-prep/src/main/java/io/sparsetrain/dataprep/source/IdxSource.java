package io.sparsetrain.dataprep.source;

import io.sparsetrain.dataprep.DataPrepException;
import io.sparsetrain.dataprep.PrepOptions;
import io.sparsetrain.dataprep.image.Pixels;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * IDX ubyte files as published for MNIST and Fashion-MNIST: {@code <prefix>-images-idx3-ubyte[.gz]} with
 * {@code <prefix>-labels-idx1-ubyte[.gz]} (a '.' instead of the second '-' is accepted too). Gzip is detected
 * by its magic bytes, not the name. Prefix {@code t10k} becomes split {@code test}. Parsed on the driver
 * (60,000 28x28 images are 47 MB); the records carry 1-channel pixels.
 */
public final class IdxSource implements RecordSource {
  static final int IMAGES_MAGIC = 0x00000803;
  static final int LABELS_MAGIC = 0x00000801;
  private static final Pattern IMAGES = Pattern.compile("(.+)-images[-.]idx3-ubyte(\\.gz)?");
  private static final Pattern LABELS = Pattern.compile("(.+)-labels[-.]idx1-ubyte(\\.gz)?");

  private final FileSystem fs;
  private final Map<String, Path[]> bySplit = new TreeMap<>(); // split -> {images, labels}
  private final List<String> requestedNames;
  private List<String> classNames;

  IdxSource(String input, List<String> requestedNames, Configuration conf) throws IOException {
    FileStatus st = RecordSource.inputStatus(input, conf);
    this.fs = st.getPath().getFileSystem(conf);
    this.requestedNames = requestedNames;
    FileStatus[] files = st.isDirectory() ? fs.listStatus(st.getPath()) : new FileStatus[] {st};
    Arrays.sort(files, Comparator.comparing(f -> f.getPath().getName()));
    for (FileStatus f : files) {
      String name = f.getPath().getName();
      Matcher im = IMAGES.matcher(name);
      Matcher lm = LABELS.matcher(name);
      if (im.matches()) {
        put(splitName(im.group(1)), 0, f.getPath());
      } else if (lm.matches()) {
        put(splitName(lm.group(1)), 1, f.getPath());
      }
    }
    if (bySplit.isEmpty()) {
      throw new DataPrepException("--input " + PrepOptions.redact(input) + " holds no IDX files "
          + "(expected <prefix>-images-idx3-ubyte[.gz] and <prefix>-labels-idx1-ubyte[.gz])");
    }
    for (Map.Entry<String, Path[]> e : bySplit.entrySet()) {
      if (e.getValue()[0] == null || e.getValue()[1] == null) {
        Path have = e.getValue()[0] != null ? e.getValue()[0] : e.getValue()[1];
        throw new DataPrepException("IDX split " + e.getKey() + ": " + have.getName() + " has no matching "
            + (e.getValue()[0] == null ? "images-idx3" : "labels-idx1") + " file beside it");
      }
    }
  }

  private void put(String split, int slot, Path p) {
    Path[] pair = bySplit.computeIfAbsent(split, s -> new Path[2]);
    if (pair[slot] != null) {
      throw new DataPrepException("IDX split " + split + " has two candidate files: " + pair[slot].getName()
          + " and " + p.getName());
    }
    pair[slot] = p;
  }

  private static String splitName(String prefix) {
    return prefix.equals("t10k") ? "test" : prefix;
  }

  @Override
  public List<String> classNames() {
    if (classNames == null) {
      throw new IllegalStateException("classNames() is known after list()");
    }
    return classNames;
  }

  @Override
  public List<SplitListing> list(BadRecords bad) throws IOException {
    // Parse all label files first: without --class-names the class index is 0..max label.
    Map<String, int[]> labels = new TreeMap<>();
    Map<String, Integer> declaredLabels = new TreeMap<>();
    int maxLabel = -1;
    for (Map.Entry<String, Path[]> e : bySplit.entrySet()) {
      Path lp = e.getValue()[1];
      try (DataInputStream in = open(lp)) {
        int magic = in.readInt();
        if (magic != LABELS_MAGIC) {
          throw new DataPrepException(lp.getName() + ": not an IDX1 ubyte labels file (magic 0x"
              + Integer.toHexString(magic) + ", expected 0x801)");
        }
        int n = in.readInt();
        declaredLabels.put(e.getKey(), n);
        byte[] raw = readUpTo(in, n);
        int[] l = new int[raw.length];
        for (int i = 0; i < raw.length; i++) {
          l[i] = raw[i] & 0xff;
          maxLabel = Math.max(maxLabel, l[i]);
        }
        labels.put(e.getKey(), l);
      } catch (java.io.EOFException eof) {
        throw new DataPrepException(lp.getName() + ": truncated IDX header", eof);
      }
    }
    if (requestedNames != null) {
      classNames = List.copyOf(requestedNames);
    } else {
      List<String> names = new ArrayList<>();
      for (int i = 0; i <= maxLabel; i++) {
        names.add(Integer.toString(i));
      }
      classNames = names;
    }

    List<SplitListing> out = new ArrayList<>();
    for (Map.Entry<String, Path[]> e : bySplit.entrySet()) {
      String split = e.getKey();
      Path ip = e.getValue()[0];
      Path lp = e.getValue()[1];
      int[] l = labels.get(split);
      int nLabels = declaredLabels.get(split);
      List<SourceRecord> records = new ArrayList<>();
      try (DataInputStream in = open(ip)) {
        int magic = in.readInt();
        if (magic != IMAGES_MAGIC) {
          throw new DataPrepException(ip.getName() + ": not an IDX3 ubyte images file (magic 0x"
              + Integer.toHexString(magic) + ", expected 0x803)");
        }
        int n = in.readInt();
        int rows = in.readInt();
        int cols = in.readInt();
        if (n < 0 || rows <= 0 || cols <= 0 || (long) rows * cols > 1 << 26) {
          throw new DataPrepException(ip.getName() + ": implausible IDX3 header (count " + n + ", " + rows + "x"
              + cols + ")");
        }
        if (n != nLabels) {
          bad.report(split, ip.getName(), "IDX counts disagree: " + ip.getName() + " declares " + n
              + " images but " + lp.getName() + " declares " + nLabels + " labels");
        }
        if (l.length < nLabels) {
          bad.report(split, lp.getName(), "truncated: header declares " + nLabels + " labels, data holds "
              + l.length);
        }
        int size = rows * cols;
        int total = Math.max(n, nLabels);
        boolean truncatedImages = false;
        for (int i = 0; i < total; i++) {
          String source = ip.getName() + "#" + i;
          byte[] px = null;
          if (i < n && !truncatedImages) {
            px = readUpTo(in, size);
            if (px.length < size) {
              truncatedImages = true;
              bad.report(split, ip.getName(), "truncated: header declares " + n + " images of " + rows + "x" + cols
                  + ", data ends inside image " + i);
              px = null;
            }
          }
          if (px == null) {
            bad.report(split, source, i < n ? "image missing: " + ip.getName() + " is truncated"
                : "no image: " + ip.getName() + " declares only " + n + " images");
            continue;
          }
          if (i >= l.length) {
            bad.report(split, source, "no label: " + lp.getName() + " holds only " + l.length + " labels");
            continue;
          }
          if (l[i] >= classNames.size()) {
            bad.report(split, source, "unknown label " + l[i] + " (class index has " + classNames.size()
                + " classes)");
            continue;
          }
          records.add(SourceRecord.decoded(source, l[i], new Pixels(rows, cols, 1, px)));
        }
      } catch (java.io.EOFException eof) {
        throw new DataPrepException(ip.getName() + ": truncated IDX header", eof);
      }
      out.add(new SplitListing(split, records));
    }
    return out;
  }

  private DataInputStream open(Path p) throws IOException {
    InputStream raw = new BufferedInputStream(fs.open(p), 1 << 16);
    raw.mark(2);
    int b0 = raw.read();
    int b1 = raw.read();
    raw.reset();
    InputStream in = (b0 == 0x1f && b1 == 0x8b) ? new GZIPInputStream(raw, 1 << 16) : raw;
    return new DataInputStream(new BufferedInputStream(in, 1 << 16));
  }

  /** Up to {@code n} bytes; fewer only at end of stream (a truncated gzip stream counts as its end). */
  private static byte[] readUpTo(InputStream in, int n) throws IOException {
    byte[] b = new byte[n];
    int off = 0;
    try {
      while (off < n) {
        int r = in.read(b, off, n - off);
        if (r < 0) {
          break;
        }
        off += r;
      }
    } catch (java.io.EOFException e) {
      // "Unexpected end of ZLIB input stream": a truncated .gz
    }
    return off == n ? b : Arrays.copyOf(b, off);
  }
}
