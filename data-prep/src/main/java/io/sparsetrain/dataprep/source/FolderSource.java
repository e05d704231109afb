package io.sparsetrain.dataprep.source;

import io.sparsetrain.dataprep.DataPrepException;
import io.sparsetrain.dataprep.PrepOptions;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

/**
 * ImageNet-style class folders: {@code <input>/<split>/<class>/**}. Every sub-directory of the input is a
 * split; every sub-directory of a split is a class; images may be nested below a class folder. The class index
 * is {@code --class-names}/{@code --preset} when given, else the class folder names of split {@code train}
 * (sorted), else the sorted union over all splits. Only listing happens here; executors decode the files.
 */
public final class FolderSource implements RecordSource {
  /** Extensions (lower case) taken as images; anything else in a class folder is a bad record. */
  public static final Set<String> IMAGE_EXTENSIONS = Set.of("jpg", "jpeg", "png", "bmp", "gif", "tif", "tiff");

  private final Path root;
  private final String rootPath;
  private final FileSystem fs;
  private final List<String> classNames;
  private final List<FileStatus> splitDirs = new ArrayList<>();

  FolderSource(String input, List<String> requestedNames, Configuration conf) throws IOException {
    FileStatus st = RecordSource.inputStatus(input, conf);
    if (!st.isDirectory()) {
      throw new DataPrepException("--input " + PrepOptions.redact(input) + " is a file; --format folders needs a "
          + "directory of split folders (train/<class>/..., val/<class>/...)");
    }
    this.root = st.getPath();
    this.rootPath = root.toUri().getPath().replaceAll("/+$", "");
    this.fs = root.getFileSystem(conf);
    for (FileStatus s : sorted(fs.listStatus(root))) {
      if (s.isDirectory()) {
        splitDirs.add(s);
      }
    }
    if (splitDirs.isEmpty()) {
      throw new DataPrepException("--input " + PrepOptions.redact(input) + " has no split folders "
          + "(expected train/<class>/..., val/<class>/...)");
    }
    this.classNames = requestedNames != null ? List.copyOf(requestedNames) : folderClassNames();
  }

  private List<String> folderClassNames() throws IOException {
    Set<String> names = new TreeSet<>();
    boolean hasTrain = splitDirs.stream().anyMatch(s -> s.getPath().getName().equals("train"));
    for (FileStatus split : splitDirs) {
      if (hasTrain && !split.getPath().getName().equals("train")) {
        continue;
      }
      for (FileStatus c : fs.listStatus(split.getPath())) {
        if (c.isDirectory()) {
          names.add(c.getPath().getName());
        }
      }
    }
    if (names.isEmpty()) {
      throw new DataPrepException("--input " + PrepOptions.redact(root.toString()) + " has no class folders "
          + "(expected <split>/<class>/<image>)");
    }
    return List.copyOf(names);
  }

  @Override
  public List<String> classNames() {
    return classNames;
  }

  @Override
  public List<SplitListing> list(BadRecords bad) throws IOException {
    Map<String, Integer> index = new HashMap<>();
    for (int i = 0; i < classNames.size(); i++) {
      index.put(classNames.get(i), i);
    }
    List<FileStatus> rootFiles = new ArrayList<>();
    for (FileStatus s : sorted(fs.listStatus(root))) {
      if (!s.isDirectory()) {
        rootFiles.add(s);
      }
    }
    for (FileStatus f : rootFiles) {
      bad.report("-", relative(f.getPath()), "file outside any split folder (expected <split>/<class>/<image>)");
    }
    List<SplitListing> out = new ArrayList<>();
    for (FileStatus splitDir : splitDirs) {
      String split = splitDir.getPath().getName();
      List<SourceRecord> records = new ArrayList<>();
      for (FileStatus entry : sorted(fs.listStatus(splitDir.getPath()))) {
        String rel = relative(entry.getPath());
        if (!entry.isDirectory()) {
          bad.report(split, rel, "file outside any class folder (expected " + split + "/<class>/<image>)");
          continue;
        }
        String className = entry.getPath().getName();
        List<FileStatus> files = listFilesRecursive(entry.getPath());
        if (files.isEmpty()) {
          bad.report(split, rel + "/", "empty class folder (no files)");
          continue;
        }
        Integer label = index.get(className);
        for (FileStatus f : files) {
          String frel = relative(f.getPath());
          String ext = extension(f.getPath().getName());
          if (!IMAGE_EXTENSIONS.contains(ext)) {
            bad.report(split, frel, "not an image file (extension '" + ext + "'; expected one of "
                + new TreeSet<>(IMAGE_EXTENSIONS) + ", any case)");
          } else if (label == null) {
            bad.report(split, frel, "unknown label '" + className + "' (not in the class index of "
                + classNames.size() + " classes)");
          } else if (f.getLen() == 0) {
            bad.report(split, frel, "empty file (0 bytes)");
          } else {
            records.add(SourceRecord.file(frel, label, f.getPath().toString()));
          }
        }
      }
      out.add(new SplitListing(split, records));
    }
    return out;
  }

  private List<FileStatus> listFilesRecursive(Path dir) throws IOException {
    List<FileStatus> files = new ArrayList<>();
    RemoteIterator<LocatedFileStatus> it = fs.listFiles(dir, true);
    while (it.hasNext()) {
      files.add(it.next());
    }
    files.sort(Comparator.comparing(f -> relative(f.getPath())));
    return files;
  }

  /** Path relative to the input root, '/'-separated and URI-decoded (spaces stay spaces). */
  private String relative(Path p) {
    String abs = p.toUri().getPath();
    if (abs.startsWith(rootPath + "/")) {
      return abs.substring(rootPath.length() + 1);
    }
    return abs;
  }

  private static String extension(String name) {
    int dot = name.lastIndexOf('.');
    return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
  }

  private static List<FileStatus> sorted(FileStatus[] st) {
    List<FileStatus> l = new ArrayList<>(Arrays.asList(st));
    l.sort(Comparator.comparing(s -> s.getPath().getName()));
    return l;
  }
}
