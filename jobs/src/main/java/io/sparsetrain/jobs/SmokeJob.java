package io.sparsetrain.jobs;

import io.sparsetrain.sparkconf.SparkSessions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import scala.Tuple2;

/**
 * A trivial job that proves a cluster works: sums i*i for i in [1, n] across partitions, records which
 * executors ran the tasks, and checks the sum against the closed form n(n+1)(2n+1)/6.
 */
@Command(name = "smoke", mixinStandardHelpOptions = true,
    description = "Checks that a cluster runs our application jar: a checked sum over all executors.")
public final class SmokeJob implements Callable<Integer> {

  @Option(names = "--n", defaultValue = "1000000", description = "Sum i*i for i = 1..n (default ${DEFAULT-VALUE}).")
  long n;

  @Option(names = "--partitions", defaultValue = "8", description = "Partitions (default ${DEFAULT-VALUE}).")
  int partitions;

  @Option(names = "--expect-executors", defaultValue = "0",
      description = "Fail unless at least this many distinct executors ran tasks (default ${DEFAULT-VALUE}).")
  int expectExecutors;

  @Option(names = "--spark-profile", defaultValue = "local",
      description = "Profile used when not run under spark-submit (default ${DEFAULT-VALUE}).")
  String profile;

  @Override
  public Integer call() {
    if (n < 1 || n > 2_000_000L) {
      throw new IllegalArgumentException("--n must be in [1, 2000000], got " + n);
    }
    if (partitions < 1) {
      throw new IllegalArgumentException("--partitions must be >= 1, got " + partitions);
    }
    SparkSession spark = SparkSessions.getOrCreate("sparsetrain-smoke", profile);
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    jsc.setJobDescription("smoke: checked sum of squares over " + partitions + " partitions");
    List<Integer> slices = new ArrayList<>();
    for (int p = 0; p < partitions; p++) {
      slices.add(p);
    }
    final long total = n;
    final int parts = partitions;
    JavaRDD<Integer> rdd = jsc.parallelize(slices, partitions);
    List<Tuple2<Long, String>> partials = rdd.map(p -> {
      long s = 0;
      for (long v = 1 + p; v <= total; v += parts) { // slice p holds 1+p, 1+p+parts, ...
        s += v * v;
      }
      return new Tuple2<>(s, SparkEnv.get().executorId());
    }).collect();
    long sum = 0;
    Set<String> executors = new TreeSet<>();
    for (Tuple2<Long, String> p : partials) {
      sum += p._1();
      executors.add(p._2());
    }
    long expected = n * (n + 1) * (2 * n + 1) / 6;
    String line = String.format("sum=%d expected=%d partitions=%d executors=%s master=%s",
        sum, expected, partitions, executors, spark.sparkContext().master());
    if (sum != expected) {
      System.out.println("SMOKE FAILED " + line);
      return 1;
    }
    if (executors.size() < expectExecutors) {
      System.out.println("SMOKE FAILED (expected >= " + expectExecutors + " executors) " + line);
      return 1;
    }
    System.out.println("SMOKE OK " + line);
    return 0;
  }
}
