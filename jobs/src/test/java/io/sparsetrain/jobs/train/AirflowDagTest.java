package io.sparsetrain.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparsetrain.sparkconf.SparkProfiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The Airflow DAG parses (python3 ast, no Airflow needed), runs prep then train then evaluate with retries, and
 * submits with exactly the Spark settings run-cluster.sh uses for an existing standalone cluster, i.e. what
 * {@code sparkconf-cli.jar submit-args --profile standalone --master spark://host:7077} prints.
 */
class AirflowDagTest {
  static final Path AIRFLOW = Path.of("..", "airflow");
  static final Path DAG = AIRFLOW.resolve("dags/sparsetrain_pipeline.py");

  private static JsonNode spec() throws Exception {
    Process p = new ProcessBuilder("python3", AIRFLOW.resolve("dag_spec.py").toString(), DAG.toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), "python3 ast could not read the DAG:\n" + out);
    return new ObjectMapper().readTree(out);
  }

  /** The --conf pairs of the submit arguments, as the sparkconf CLI prints them. */
  static Map<String, String> expectedConf() {
    List<String> args = SparkProfiles.load("standalone").submitArgs("spark://host:7077");
    Map<String, String> conf = new LinkedHashMap<>();
    for (int i = 0; i < args.size(); i++) {
      if (args.get(i).equals("--conf")) {
        String kv = args.get(++i);
        int eq = kv.indexOf('=');
        conf.put(kv.substring(0, eq), kv.substring(eq + 1));
      }
    }
    return conf;
  }

  private static Map<String, String> map(JsonNode n) {
    Map<String, String> m = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      m.put(e.getKey(), e.getValue().asText());
    }
    return m;
  }

  @Test
  void dagParsesAndSubmitsWithTheSparkconfStandaloneArguments() throws Exception {
    assertTrue(Files.isRegularFile(DAG), DAG.toAbsolutePath().toString());
    JsonNode spec = spec();
    assertEquals("[[\"prep\",\"train\",\"evaluate\"]]", spec.get("dependencies").toString());
    assertEquals(2, spec.get("default_args").get("retries").asInt());
    Map<String, String> expected = expectedConf();
    StringBuilder regenerate = new StringBuilder("SPARK_CONF = {\n");
    expected.forEach((k, v) -> regenerate.append("    \"").append(k).append("\": \"").append(v).append("\",\n"));
    regenerate.append("}\n");
    for (String task : List.of("prep", "train", "evaluate")) {
      JsonNode t = spec.get("tasks").get(task);
      assertEquals("io.sparsetrain.jobs.Main", t.get("java_class").asText(), task);
      assertEquals(task, t.get("application_args").get(0).asText(), task + " runs the " + task + " subcommand");
      Map<String, String> conf = map(t.get("conf"));
      for (Map.Entry<String, String> e : expected.entrySet()) {
        assertEquals(e.getValue(), conf.get(e.getKey()), "task " + task + " --conf " + e.getKey()
            + " differs from sparkconf's standalone profile; regenerate the DAG's dict:\n" + regenerate);
      }
      conf.keySet().removeAll(expected.keySet());
      assertEquals(Map.of(), conf, task + " adds nothing to the profile's settings");
    }
    List<String> trainArgs = new ObjectMapper().convertValue(spec.get("tasks").get("train").get("application_args"),
        new com.fasterxml.jackson.core.type.TypeReference<List<String>>() { });
    assertTrue(trainArgs.contains("--resume"), "an Airflow retry continues from the last checkpoint");
  }
}
