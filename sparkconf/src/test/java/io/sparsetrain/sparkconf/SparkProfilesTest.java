package io.sparsetrain.sparkconf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SparkProfilesTest {

  @Test
  void allFiveProfilesExist() {
    assertEquals(List.of("embedded-cluster", "kubernetes", "local", "standalone", "yarn"), SparkProfiles.names());
  }

  @ParameterizedTest
  @ValueSource(strings = {"local", "embedded-cluster", "standalone", "yarn", "kubernetes"})
  void everyProfileCarriesCommonSettingsAndJvmFlags(String name) {
    SparkProfile p = SparkProfiles.load(name);
    assertEquals("org.apache.spark.serializer.KryoSerializer", p.conf().get("spark.serializer"));
    String exec = p.conf().get("spark.executor.extraJavaOptions");
    String driver = p.conf().get("spark.driver.extraJavaOptions");
    for (String flag : List.of("--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "--add-modules=jdk.incubator.vector")) {
      assertTrue(exec.contains(flag), name + " executor options lack " + flag + ": " + exec);
      assertTrue(driver.contains(flag), name + " driver options lack " + flag);
    }
    assertEquals("org.apache.hadoop.fs.s3a.S3AFileSystem", p.hadoopConf().get("fs.s3a.impl"));
    assertFalse(p.conf().keySet().stream().anyMatch(k -> k.contains("secret") || k.contains("access.key")),
        "credentials must never be part of a profile");
  }

  @Test
  void embeddedClusterDescribesItsLayout() {
    SparkProfile p = SparkProfiles.load("embedded-cluster");
    assertEquals("spark://127.0.0.1:7077", p.master().orElseThrow());
    assertEquals("2", p.cluster().get("workers"));
    assertEquals("1", p.cluster().get("worker-cores"));
    List<String> args = p.submitArgs(null);
    assertEquals(List.of("--master", "spark://127.0.0.1:7077"), args.subList(0, 2));
    assertTrue(args.contains("spark.executor.memory=4g"));
  }

  @Test
  void masterOverrideWins() {
    List<String> args = SparkProfiles.load("standalone").submitArgs("spark://h:7077");
    assertEquals(List.of("--master", "spark://h:7077"), args.subList(0, 2));
    assertFalse(SparkProfiles.load("kubernetes").master().isPresent());
  }

  @Test
  void unknownProfileNamesTheKnownOnes() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SparkProfiles.load("lcoal"));
    assertTrue(e.getMessage().contains("'lcoal'") && e.getMessage().contains("embedded-cluster"), e.getMessage());
  }

  @Test
  void userOverridesApplyAndUserJavaOptionsAreKept() {
    SparkProfile p = SparkProfiles.load("local", ConfigFactory.parseString(
        "sparkconf.profiles.local.conf { \"spark.driver.memory\" = \"8g\", "
            + "\"spark.executor.extraJavaOptions\" = \"-Dmy.flag=1\" }"));
    assertEquals("8g", p.conf().get("spark.driver.memory"));
    String exec = p.conf().get("spark.executor.extraJavaOptions");
    assertTrue(exec.contains("-Dmy.flag=1") && exec.contains("--add-opens"), exec);
  }

  @Test
  void nestedValueUnderConfIsRejectedWithItsKey() {
    ConfigException e = assertThrows(ConfigException.class, () -> SparkProfiles.load("local",
        ConfigFactory.parseString("sparkconf.profiles.local.conf { spark.driver.memory = 8g }")));
    assertTrue(e.getMessage().contains("sparkconf.profiles.local.conf.\"spark\""), e.getMessage());
  }

  @Test
  void s3aCompatibleEndpointIsPathStyleAndFailsFast() {
    Map<String, String> h = SparkProfiles.s3aCompatibleEndpoint("http://127.0.0.1:4568");
    assertEquals("http://127.0.0.1:4568", h.get("fs.s3a.endpoint"));
    assertEquals("true", h.get("fs.s3a.path.style.access"));
    assertEquals("2", h.get("fs.s3a.attempts.maximum"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SparkProfiles.s3aCompatibleEndpoint("127.0.0.1:4568"));
    assertTrue(e.getMessage().contains("127.0.0.1:4568"));
  }

  @Test
  void sharedSessionRunsARealLocalJob() {
    SparkSession spark = SharedSparkSession.session();
    assertEquals("local[2]", spark.sparkContext().master());
    assertEquals(5050L, (long) spark.range(1, 101).selectExpr("sum(id)").first().getLong(0));
    assertTrue(SharedSparkSession.session() == spark, "one shared session per JVM");
  }
}
