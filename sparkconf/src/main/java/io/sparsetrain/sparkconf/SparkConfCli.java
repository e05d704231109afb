package io.sparsetrain.sparkconf;

import java.io.File;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Prints profile settings for shell scripts (run-cluster.sh, the Airflow DAG's checks), so that the
 * scripts never restate a Spark setting. Run as {@code java -jar sparkconf-*-cli.jar <command>}.
 */
@Command(name = "sparkconf", mixinStandardHelpOptions = true,
    description = "Prints the Spark settings of a sparsetrain profile.",
    subcommands = {SparkConfCli.SubmitArgs.class, SparkConfCli.JvmFlags.class, SparkConfCli.Get.class,
        SparkConfCli.Show.class, SparkConfCli.Profiles.class})
public final class SparkConfCli implements Callable<Integer> {

  static class ProfileOptions {
    @Option(names = "--profile", required = true, description = "Profile: ${COMPLETION-CANDIDATES}",
        completionCandidates = ProfileNames.class)
    String profile;

    @Option(names = "--sparkconf-file", description = "A HOCON file with overrides (same layout as sparkconf.conf).")
    File userFile;

    SparkProfile load() {
      return userFile == null ? SparkProfiles.load(profile) : SparkProfiles.load(profile, userFile);
    }
  }

  static class ProfileNames implements Iterable<String> {
    @Override
    public java.util.Iterator<String> iterator() {
      return SparkProfiles.names().iterator();
    }
  }

  @Command(name = "submit-args", description = "spark-submit arguments (--master, --conf k=v), one per line.")
  static class SubmitArgs implements Callable<Integer> {
    @CommandLine.Mixin ProfileOptions profile;

    @Option(names = "--master", description = "Use this master URL instead of the profile's.")
    String master;

    @Override
    public Integer call() {
      profile.load().submitArgs(master).forEach(System.out::println);
      return 0;
    }
  }

  @Command(name = "jvm-flags", description = "The JVM flags every Spark JVM needs, on one line.")
  static class JvmFlags implements Callable<Integer> {
    @Override
    public Integer call() {
      System.out.println(String.join(" ", SparkProfiles.jvmFlags()));
      return 0;
    }
  }

  @Command(name = "get", description = "One value: master, cluster.<key> or a Spark conf key.")
  static class Get implements Callable<Integer> {
    @CommandLine.Mixin ProfileOptions profile;

    @Parameters(index = "0", description = "master | cluster.<key> | <spark key>")
    String key;

    @Override
    public Integer call() {
      SparkProfile p = profile.load();
      String value;
      if (key.equals("master")) {
        value = p.master().orElse(null);
      } else if (key.startsWith("cluster.")) {
        value = p.cluster().get(key.substring("cluster.".length()));
      } else {
        value = p.conf().get(key);
      }
      if (value == null) {
        System.err.println("profile '" + p.name() + "' has no setting '" + key + "'");
        return 2;
      }
      System.out.println(value);
      return 0;
    }
  }

  @Command(name = "show", description = "Every setting of a profile, for the job log.")
  static class Show implements Callable<Integer> {
    @CommandLine.Mixin ProfileOptions profile;

    @Override
    public Integer call() {
      System.out.print(profile.load());
      return 0;
    }
  }

  @Command(name = "profiles", description = "The profile names.")
  static class Profiles implements Callable<Integer> {
    @Override
    public Integer call() {
      SparkProfiles.names().forEach(System.out::println);
      return 0;
    }
  }

  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return 2;
  }

  public static void main(String[] args) {
    CommandLine cli = new CommandLine(new SparkConfCli());
    cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      cmd.getErr().println("sparkconf: " + ex.getMessage());
      return 2;
    });
    System.exit(cli.execute(args));
  }
}
