package io.sparsetrain.dataprep;

import io.sparsetrain.sparkconf.SparkProfiles;
import io.sparsetrain.sparkconf.SparkSessions;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code prep}: converts an image collection (class folders, IDX, CIFAR) into a Parquet dataset with one
 * directory of shards per split, a class index and a manifest (see docs/data-prep.md). Options are validated
 * before Spark starts; progress lines and a final manifest summary go to stdout; errors name the option, file
 * or record and the reason, and give exit code 1 (2 for usage errors, picocli's convention).
 */
@Command(name = "prep", mixinStandardHelpOptions = true, versionProvider = PrepCommand.Version.class,
    description = "Convert class folders / IDX / CIFAR binaries into sharded Parquet with a manifest.",
    sortOptions = false)
public final class PrepCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--format", required = true, paramLabel = "folders|idx|cifar10|cifar100",
      description = "Input kind.")
  String format;

  @Option(names = "--input", required = true, paramLabel = "PATH",
      description = "Input directory, local or any Hadoop URI (s3a://bucket/...).")
  String input;

  @Option(names = "--output", required = true, paramLabel = "PATH",
      description = "Dataset directory to create, local or s3a://. Written under a hidden temporary sibling and "
          + "published when complete.")
  String output;

  @Option(names = "--shards", paramLabel = "N", description = "Parquet files per split (default: ${DEFAULT-VALUE}).")
  int shards = PrepOptions.DEFAULT_SHARDS;

  @Option(names = "--seed", paramLabel = "S", description = "Shuffle seed (default: ${DEFAULT-VALUE}).")
  long seed = PrepOptions.DEFAULT_SEED;

  @Option(names = "--payload", paramLabel = "raw|encoded",
      description = "raw = decoded uint8 HWC bytes (default); encoded = image file bytes (PNG when transformed).")
  String payload = PrepOptions.DEFAULT_PAYLOAD.cliName();

  @Option(names = "--resize", paramLabel = "HxW|S",
      description = "Bilinear resize to HxW, or shorter side to S keeping the aspect ratio.")
  String resize;

  @Option(names = "--center-crop", paramLabel = "HxW|S", description = "Center crop (after --resize).")
  String centerCrop;

  @Option(names = "--channels", paramLabel = "1|3",
      description = "Convert to grey (1) or RGB (3); default: IDX 1, CIFAR and folders 3.")
  Integer channels;

  @Option(names = "--preset", paramLabel = "fashion-mnist|mnist|cifar10|cifar100",
      description = "Class names of a known dataset, in label order.")
  String preset;

  @Option(names = "--class-names", split = ",", paramLabel = "NAME",
      description = "Class names in label order (comma-separated); exclusive with --preset.")
  List<String> classNames;

  @Option(names = "--skip-bad", description = "Skip bad records and list each with its reason in the manifest "
      + "(default: fail naming the record).")
  boolean skipBad;

  @Option(names = "--overwrite", description = "Replace an existing --output dataset.")
  boolean overwrite;

  @Option(names = "--spark-profile", paramLabel = "NAME",
      description = "sparkconf profile when not under spark-submit (default: ${DEFAULT-VALUE}).")
  String sparkProfile = PrepOptions.DEFAULT_SPARK_PROFILE;

  /** The validated options (before any Spark work). */
  PrepOptions options() {
    PrepOptions.Builder b = PrepOptions.builder()
        .format(InputFormat.parse(format))
        .input(input)
        .output(output)
        .shards(shards)
        .seed(seed)
        .payload(Payload.parse(payload))
        .channels(channels)
        .classNames(classNames)
        .skipBad(skipBad)
        .overwrite(overwrite)
        .sparkProfile(sparkProfile);
    if (resize != null) {
      b.resize(TargetSize.parse("--resize", resize, true));
    }
    if (centerCrop != null) {
      b.centerCrop(TargetSize.parse("--center-crop", centerCrop, false));
    }
    if (preset != null) {
      b.preset(Preset.parse(preset));
    }
    return b.build();
  }

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    PrepOptions opts;
    try {
      opts = options();
      checkLocalPaths(opts);
      if (System.getProperty("spark.master") == null && !SparkProfiles.names().contains(opts.sparkProfile())) {
        throw new DataPrepException("--spark-profile '" + opts.sparkProfile() + "' is unknown; known profiles: "
            + SparkProfiles.names());
      }
    } catch (DataPrepException e) {
      err.println("prep: " + e.getMessage());
      err.flush();
      return 2;
    }
    try {
      SparkSession spark = SparkSessions.getOrCreate("sparsetrain-prep", opts.sparkProfile());
      Manifest m = PrepJob.run(spark, opts, line -> {
        out.println(line);
        out.flush();
      });
      out.print(m.summary());
      out.flush();
      return 0;
    } catch (DataPrepException e) {
      err.println("prep failed: " + e.getMessage());
      err.flush();
      return 1;
    }
  }

  /**
   * For local paths, the input/output checks happen here, before a SparkSession exists; remote paths (s3a://)
   * need the session's Hadoop settings and are checked by {@link PrepJob} before any Spark job.
   */
  static void checkLocalPaths(PrepOptions opts) {
    java.nio.file.Path in = localPath(opts.input());
    if (in != null && !java.nio.file.Files.exists(in)) {
      throw new DataPrepException("--input " + opts.input() + " does not exist");
    }
    java.nio.file.Path out = localPath(opts.output());
    if (out != null && java.nio.file.Files.exists(out) && !opts.overwrite()) {
      throw new DataPrepException("--output " + opts.output() + " already exists (pass --overwrite to replace it)");
    }
  }

  private static java.nio.file.Path localPath(String path) {
    try {
      java.net.URI u = new java.net.URI(path);
      if (u.getScheme() == null) {
        return java.nio.file.Path.of(path);
      }
      return "file".equals(u.getScheme()) ? java.nio.file.Path.of(u) : null;
    } catch (Exception e) {
      return java.nio.file.Path.of(path); // not a URI (e.g. spaces): a local path
    }
  }

  /** Version from the jar manifest. */
  static final class Version implements picocli.CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"sparsetrain prep " + PrepJob.version()};
    }
  }
}
