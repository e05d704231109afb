package io.sparsetrain.dataprep;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sparsetrain.dataprep.image.BadImageException;
import io.sparsetrain.dataprep.source.BadRecords;
import io.sparsetrain.dataprep.source.RecordSource;
import io.sparsetrain.dataprep.source.SkippedRecord;
import io.sparsetrain.dataprep.source.SourceRecord;
import io.sparsetrain.dataprep.source.SplitListing;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.CollectionAccumulator;

/**
 * The {@code prep} conversion: lists the input on the driver, shuffles each split deterministically by seed,
 * assigns shards, converts records to rows on the executors (decoding folder images there), writes one Parquet
 * file per shard into a temporary directory, checksums the shards and publishes the dataset with its manifest.
 *
 * <p>Shuffle: every record gets the key SHA-256(seed as 8 big-endian bytes, source id as UTF-8), first 8 bytes
 * as a signed long; records are sorted by (key, source), {@code rank} is the position in that order and
 * {@code shard = rank mod shards}, so shard sizes differ by at most one (before skipped records). The shard
 * lists are built on the driver and parallelized one shard per partition, so no Spark shuffle is needed and
 * each write task produces exactly one file whose rows are in rank order: the same input, options and seed
 * give byte-identical shard files (checked by the tests).
 */
public final class PrepJob {
  private static final Pattern PART = Pattern.compile("part-(\\d+)-.*\\.parquet");

  private PrepJob() {}

  /** Runs the conversion; returns the published manifest. */
  public static Manifest run(SparkSession spark, PrepOptions opts, Consumer<String> progress) {
    return run(spark, opts, progress, () -> { });
  }

  /** As {@link #run(SparkSession, PrepOptions, Consumer)}; {@code beforePublish} lets tests simulate a kill. */
  static Manifest run(SparkSession spark, PrepOptions opts, Consumer<String> progress, Runnable beforePublish) {
    long t0 = System.nanoTime();
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    String runId = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC)
        .format(Instant.now()) + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 40);
    progress.accept("[prep] run " + runId + ": " + opts);
    DatasetPublisher publisher;
    RecordSource source;
    try {
      RecordSource.inputStatus(opts.input(), conf);
      publisher = new DatasetPublisher(opts.output(), runId, conf);
      publisher.checkOutput(opts.overwrite(), m -> progress.accept("[prep] " + m));
      progress.accept("[prep] listing " + opts.format().cliName() + " input " + PrepOptions.redact(opts.input()));
      source = RecordSource.of(opts, conf);
    } catch (IOException e) {
      throw new DataPrepException("cannot access " + describe(e) + " (input " + PrepOptions.redact(opts.input())
          + ", output " + PrepOptions.redact(opts.output()) + ")", e);
    }
    boolean published = false;
    try {
      BadRecords bad = new BadRecords(opts.skipBad());
      List<SplitListing> listing = source.list(bad);
      List<String> classes = source.classNames();
      progress.accept("[prep] " + classes.size() + " classes; splits "
          + listing.stream().map(s -> s.split() + "=" + s.records().size()).toList()
          + " records listed");
      FileSystem fs = publisher.fs();
      fs.mkdirs(publisher.tmp());
      RecordConverter converter = new RecordConverter(opts, classes);
      JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
      Broadcast<SerializableHadoopConf> bconf = jsc.broadcast(new SerializableHadoopConf(conf));

      Manifest m = new Manifest();
      m.createdBy = "sparsetrain data-prep " + version();
      m.runId = runId;
      m.inputFormat = opts.format().cliName();
      m.payload = opts.payload().cliName();
      m.numClasses = classes.size();
      m.classes = new ArrayList<>(classes);
      m.options = opts.asMap();
      m.image.channels = opts.channels();
      Set<List<Integer>> shapes = new TreeSet<>(Comparator.comparing(List::toString));
      for (SplitListing split : listing) {
        long ts = System.nanoTime();
        Manifest.Split ms = writeSplit(spark, jsc, bconf, converter, opts, split, bad, publisher, shapes, progress);
        m.splits.put(split.split(), ms);
        double secs = (System.nanoTime() - ts) / 1e9;
        progress.accept(String.format("[prep] split %s: %d rows in %d shards, %d skipped, %.1f s (%.0f images/s)",
            split.split(), ms.rows, ms.shards.size(), ms.skippedCount, secs, ms.rows / Math.max(secs, 1e-9)));
      }
      List<SkippedRecord> outside = bad.skipped("-");
      if (!outside.isEmpty()) { // files directly under --input (folders): reported under split "-"
        Manifest.Split ms = new Manifest.Split();
        ms.skipped = new ArrayList<>(outside);
        ms.skippedCount = outside.size();
        m.splits.put("-", ms);
      }
      if (shapes.size() == 1) {
        List<Integer> hw = shapes.iterator().next();
        m.image.height = hw.get(0);
        m.image.width = hw.get(1);
      }
      writeClassIndex(fs, new Path(publisher.tmp(), Manifest.CLASS_INDEX_FILE), classes);
      beforePublish.run();
      m.createdAt = DateTimeFormatter.ISO_INSTANT.format(Instant.now());
      m.datasetPath = publisher.output().toString();
      progress.accept("[prep] publishing " + PrepOptions.redact(opts.output()));
      publisher.publish(opts.overwrite(), m.toJson());
      published = true;
      progress.accept(String.format("[prep] done in %.1f s", (System.nanoTime() - t0) / 1e9));
      return m;
    } catch (Exception e) { // SparkException is checked but thrown undeclared from Spark's Java API
      DataPrepException dpe = findCause(e, DataPrepException.class);
      if (dpe != null) {
        throw dpe == e ? dpe : new DataPrepException(dpe.getMessage(), e); // an executor's bad-record report
      }
      if (findCause(e, IOException.class) != null) {
        throw new DataPrepException("I/O error: " + describe(e) + " (input " + PrepOptions.redact(opts.input())
            + ", output " + PrepOptions.redact(opts.output()) + ")", e);
      }
      if (e instanceof RuntimeException re) {
        throw re;
      }
      throw new DataPrepException("prep failed: " + describe(e), e);
    } finally {
      if (!published) {
        publisher.abort();
      }
    }
  }

  private static Manifest.Split writeSplit(SparkSession spark, JavaSparkContext jsc,
      Broadcast<SerializableHadoopConf> bconf, RecordConverter converter, PrepOptions opts, SplitListing split,
      BadRecords bad, DatasetPublisher publisher, Set<List<Integer>> shapes, Consumer<String> progress)
      throws IOException {
    String name = split.split();
    List<SourceRecord> records = shuffle(split.records(), opts.seed());
    int n = Math.min(opts.shards(), records.size());
    if (n < opts.shards()) {
      progress.accept("[prep] note: split " + name + " has " + records.size() + " records, so " + n
          + " shards instead of --shards " + opts.shards());
    }
    Manifest.Split ms = new Manifest.Split();
    List<SkippedRecord> skipped = new ArrayList<>(bad.skipped(name));
    Path dir = new Path(publisher.tmp(), name);
    if (n > 0) {
      List<List<SourceRecord>> shards = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        shards.add(new ArrayList<>(records.size() / n + 1));
      }
      for (SourceRecord r : records) {
        shards.get((int) (r.rank % n)).add(r);
      }
      CollectionAccumulator<SkippedRecord> acc = spark.sparkContext().collectionAccumulator("skipped-" + name);
      boolean skip = opts.skipBad();
      progress.accept("[prep] split " + name + ": converting " + records.size() + " records into " + n
          + " shards");
      JavaRDD<Row> rows = jsc.parallelize(shards, n).mapPartitions(
          it -> new RowIterator(it, converter, bconf.value().get(), skip, name, acc));
      spark.createDataFrame(rows, ShardSchema.SPARK_SCHEMA).write().mode(SaveMode.ErrorIfExists)
          .option("compression", "snappy").parquet(dir.toString());
      Map<String, SkippedRecord> dedup = new TreeMap<>(); // a retried task may report a record twice
      for (SkippedRecord s : acc.value()) {
        dedup.put(s.source, s);
      }
      skipped.addAll(dedup.values());
      ms.shards = renameShards(publisher.fs(), dir, n, bconf.value().get(), name);
      for (Row r : spark.read().parquet(dir.toString()).select(ShardSchema.HEIGHT, ShardSchema.WIDTH)
          .distinct().limit(2).collectAsList()) {
        shapes.add(List.of(r.getInt(0), r.getInt(1)));
      }
    } else {
      progress.accept("[prep] note: split " + name + " has no usable records; it gets no shards");
    }
    Set<String> skippedSources = new TreeSet<>();
    for (SkippedRecord s : skipped) {
      skippedSources.add(s.source);
    }
    long[] counts = new long[converter.classCount()];
    long rows = 0;
    for (SourceRecord r : records) {
      if (!skippedSources.contains(r.source)) {
        counts[r.label]++;
        rows++;
      }
    }
    long written = ms.shards.stream().mapToLong(s -> s.rows).sum();
    if (written != rows) {
      throw new IllegalStateException("split " + name + ": shards hold " + written + " rows but " + rows
          + " records were expected (listed " + records.size() + ", skipped " + skipped.size() + ")");
    }
    ms.rows = rows;
    for (int i = 0; i < counts.length; i++) {
      ms.classCounts.put(converter.className(i), counts[i]);
    }
    Collections.sort(skipped);
    ms.skipped = skipped;
    ms.skippedCount = skipped.size();
    return ms;
  }

  /** Records in seeded shuffle order with {@code rank} set (see the class comment). */
  static List<SourceRecord> shuffle(List<SourceRecord> records, long seed) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    Map<SourceRecord, Long> keys = new java.util.IdentityHashMap<>();
    byte[] seedBytes = ByteBuffer.allocate(8).putLong(seed).array();
    for (SourceRecord r : records) {
      sha.reset();
      sha.update(seedBytes);
      sha.update(r.source.getBytes(StandardCharsets.UTF_8));
      keys.put(r, ByteBuffer.wrap(sha.digest()).getLong());
    }
    List<SourceRecord> out = new ArrayList<>(records);
    out.sort(Comparator.<SourceRecord>comparingLong(keys::get).thenComparing(r -> r.source));
    for (int i = 0; i < out.size(); i++) {
      out.get(i).rank = i;
    }
    return out;
  }

  /** Renames Spark's part files to shard-NNNNN-of-NNNNN.parquet and measures them. */
  private static List<Manifest.Shard> renameShards(FileSystem fs, Path dir, int n, Configuration conf, String split)
      throws IOException {
    fs.delete(new Path(dir, "_SUCCESS"), false);
    Map<Integer, Path> parts = new TreeMap<>();
    for (FileStatus st : fs.listStatus(dir)) {
      Matcher mt = PART.matcher(st.getPath().getName());
      if (mt.matches()) {
        Path prev = parts.put(Integer.parseInt(mt.group(1)), st.getPath());
        if (prev != null) {
          throw new IllegalStateException("two files for partition " + mt.group(1) + " in " + dir);
        }
      }
    }
    List<Manifest.Shard> shards = new ArrayList<>();
    for (Map.Entry<Integer, Path> e : parts.entrySet()) {
      String fileName = String.format("shard-%05d-of-%05d.parquet", e.getKey(), n);
      Path target = new Path(dir, fileName);
      if (!fs.rename(e.getValue(), target)) {
        throw new IOException("cannot rename " + e.getValue() + " to " + target);
      }
      Manifest.Shard s = new Manifest.Shard();
      s.path = split + "/" + fileName;
      try (ParquetFileReader r = ParquetFileReader.open(HadoopInputFile.fromPath(target, conf))) {
        s.rows = r.getRecordCount();
      }
      s.bytes = fs.getFileStatus(target).getLen();
      s.sha256 = sha256(fs, target);
      shards.add(s);
    }
    return shards;
  }

  static String sha256(FileSystem fs, Path p) throws IOException {
    try (InputStream in = fs.open(p)) {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      for (int r; (r = in.read(buf)) > 0; ) {
        sha.update(buf, 0, r);
      }
      return HexFormat.of().formatHex(sha.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void writeClassIndex(FileSystem fs, Path file, List<String> classes) throws IOException {
    List<Map<String, Object>> entries = new ArrayList<>();
    for (int i = 0; i < classes.size(); i++) {
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("index", i);
      e.put("name", classes.get(i));
      entries.add(e);
    }
    try (OutputStream o = fs.create(file, false)) {
      o.write(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(entries));
    }
  }

  static String version() {
    String v = PrepJob.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }

  /** The outermost message (it names the path) plus the root cause, e.g. "Connection refused". */
  private static String describe(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String msg = e.getClass().getSimpleName() + ": " + e.getMessage();
    if (root != e && (e.getMessage() == null || !e.getMessage().contains(String.valueOf(root.getMessage())))) {
      msg += " (root cause " + root.getClass().getSimpleName() + ": " + root.getMessage() + ")";
    }
    return msg;
  }

  static <T extends Throwable> T findCause(Throwable e, Class<T> type) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return type.cast(t);
      }
    }
    return null;
  }

  /** Lazily converts a partition's (single) shard list to rows, skipping or failing on bad records. */
  private static final class RowIterator implements Iterator<Row> {
    private final Iterator<List<SourceRecord>> shards;
    private final RecordConverter converter;
    private final Configuration conf;
    private final boolean skip;
    private final String split;
    private final CollectionAccumulator<SkippedRecord> skipped;
    private Iterator<SourceRecord> current = Collections.emptyIterator();
    private Row next;

    RowIterator(Iterator<List<SourceRecord>> shards, RecordConverter converter, Configuration conf, boolean skip,
        String split, CollectionAccumulator<SkippedRecord> skipped) {
      this.shards = shards;
      this.converter = converter;
      this.conf = conf;
      this.skip = skip;
      this.split = split;
      this.skipped = skipped;
    }

    @Override
    public boolean hasNext() {
      while (next == null) {
        while (!current.hasNext()) {
          if (!shards.hasNext()) {
            return false;
          }
          current = shards.next().iterator();
        }
        SourceRecord r = current.next();
        try {
          next = converter.convert(r, conf);
        } catch (BadImageException e) {
          if (!skip) {
            throw DataPrepException.badRecord(split, r.source, e.getMessage());
          }
          skipped.add(new SkippedRecord(r.source, e.getMessage()));
        } catch (IOException e) {
          throw new UncheckedIOException("cannot read " + r.source + " (split " + split + ")", e);
        }
      }
      return true;
    }

    @Override
    public Row next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Row r = next;
      next = null;
      return r;
    }
  }
}
