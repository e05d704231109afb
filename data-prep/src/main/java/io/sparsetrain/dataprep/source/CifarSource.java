package io.sparsetrain.dataprep.source;

import io.sparsetrain.dataprep.DataPrepException;
import io.sparsetrain.dataprep.PrepOptions;
import io.sparsetrain.dataprep.image.Pixels;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * CIFAR-10/100 binary version. CIFAR-10: {@code data_batch_*.bin} (split train) and {@code test_batch.bin}
 * (test), records of 1 label byte + 3072 pixel bytes; class names from {@code batches.meta.txt}. CIFAR-100:
 * {@code train.bin}/{@code test.bin}, records of coarse label, fine label, 3072 bytes; the fine label is used,
 * names from {@code fine_label_names.txt}. Pixels are stored channel-planar (1024 R, 1024 G, 1024 B) and are
 * turned into HWC here. The input may be the extracted directory or its parent. Parsed on the driver.
 */
public final class CifarSource implements RecordSource {
  public static final int SIDE = 32;
  public static final int PIXEL_BYTES = 3 * SIDE * SIDE;

  private final FileSystem fs;
  private final Path dir;
  private final boolean cifar100;
  private final List<String> classNames;

  CifarSource(String input, boolean cifar100, List<String> requestedNames, Configuration conf) throws IOException {
    FileStatus st = RecordSource.inputStatus(input, conf);
    this.fs = st.getPath().getFileSystem(conf);
    this.cifar100 = cifar100;
    Path d = st.getPath();
    Path nested = new Path(d, cifar100 ? "cifar-100-binary" : "cifar-10-batches-bin");
    if (!st.isDirectory()) {
      throw new DataPrepException("--input " + PrepOptions.redact(input) + " must be a directory of CIFAR "
          + "binary batches");
    }
    if (fs.exists(nested) && fs.getFileStatus(nested).isDirectory()) {
      d = nested;
    }
    this.dir = d;
    if (requestedNames != null) {
      classNames = List.copyOf(requestedNames);
    } else {
      Path meta = new Path(dir, cifar100 ? "fine_label_names.txt" : "batches.meta.txt");
      if (fs.exists(meta)) {
        List<String> names = new ArrayList<>();
        for (String line : new String(RecordSource.readAll(fs, meta), StandardCharsets.UTF_8).split("\\R")) {
          if (!line.isBlank()) {
            names.add(line.trim());
          }
        }
        classNames = List.copyOf(names);
      } else {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < (cifar100 ? 100 : 10); i++) {
          names.add(Integer.toString(i));
        }
        classNames = names;
      }
    }
  }

  @Override
  public List<String> classNames() {
    return classNames;
  }

  @Override
  public List<SplitListing> list(BadRecords bad) throws IOException {
    Map<String, List<Path>> splits = new LinkedHashMap<>();
    FileStatus[] files = fs.listStatus(dir);
    Arrays.sort(files, Comparator.comparing(f -> f.getPath().getName()));
    for (FileStatus f : files) {
      String name = f.getPath().getName();
      String split = null;
      if (cifar100) {
        split = name.equals("train.bin") ? "train" : name.equals("test.bin") ? "test" : null;
      } else if (name.matches("data_batch_\\d+\\.bin")) {
        split = "train";
      } else if (name.equals("test_batch.bin")) {
        split = "test";
      }
      if (split != null) {
        splits.computeIfAbsent(split, s -> new ArrayList<>()).add(f.getPath());
      }
    }
    if (splits.isEmpty()) {
      throw new DataPrepException("--input " + PrepOptions.redact(dir.toString()) + " holds no CIFAR-"
          + (cifar100 ? "100 binary files (train.bin, test.bin)" : "10 binary batches (data_batch_N.bin, "
          + "test_batch.bin)"));
    }
    int labelBytes = cifar100 ? 2 : 1;
    int recordBytes = labelBytes + PIXEL_BYTES;
    List<SplitListing> out = new ArrayList<>();
    for (String split : List.of("train", "test")) {
      if (!splits.containsKey(split)) {
        continue;
      }
      List<SourceRecord> records = new ArrayList<>();
      for (Path p : splits.get(split)) {
        byte[] data = RecordSource.readAll(fs, p);
        int n = data.length / recordBytes;
        for (int i = 0; i < n; i++) {
          int off = i * recordBytes;
          String source = p.getName() + "#" + i;
          int label = data[off + labelBytes - 1] & 0xff; // CIFAR-100: the second byte is the fine label
          if (label >= classNames.size()) {
            bad.report(split, source, "unknown label " + label + " (class index has " + classNames.size()
                + " classes)");
            continue;
          }
          byte[] hwc = new byte[PIXEL_BYTES];
          int plane = SIDE * SIDE;
          for (int px = 0; px < plane; px++) {
            hwc[3 * px] = data[off + labelBytes + px];
            hwc[3 * px + 1] = data[off + labelBytes + plane + px];
            hwc[3 * px + 2] = data[off + labelBytes + 2 * plane + px];
          }
          records.add(SourceRecord.decoded(source, label, new Pixels(SIDE, SIDE, 3, hwc)));
        }
        if (data.length % recordBytes != 0) {
          bad.report(split, p.getName() + "#" + n, "truncated record: " + p.getName() + " is " + data.length
              + " bytes, not a multiple of the " + recordBytes + "-byte record");
        }
      }
      out.add(new SplitListing(split, records));
    }
    return out;
  }
}
