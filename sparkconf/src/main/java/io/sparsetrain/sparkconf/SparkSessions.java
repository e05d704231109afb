package io.sparsetrain.sparkconf;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/** Creates the SparkSession of an entry point, from spark-submit's settings or from a named profile. */
public final class SparkSessions {
  private SparkSessions() {}

  /**
   * Under spark-submit (the {@code spark.master} system property is set) the session takes spark-submit's
   * settings as they are; otherwise (a plain {@code java} run or a test) it applies {@code defaultProfile}.
   */
  public static SparkSession getOrCreate(String appName, String defaultProfile) {
    if (System.getProperty("spark.master") != null) {
      return SparkSession.builder().appName(appName).getOrCreate();
    }
    return builder(SparkProfiles.load(defaultProfile), appName).getOrCreate();
  }

  /** A builder carrying every setting of the profile (master included when the profile has one). */
  public static SparkSession.Builder builder(SparkProfile profile, String appName) {
    SparkConf conf = new SparkConf(false).setAppName(appName);
    profile.conf().forEach(conf::set);
    profile.master().ifPresent(conf::setMaster);
    return SparkSession.builder().config(conf);
  }
}
