package io.sparsetrain.jobs.evaluate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The Airflow DAG's evaluate task passes arguments the evaluate command accepts (parsed and validated). */
class EvaluateDagArgsTest {

  @Test
  void dagEvaluateArgumentsParse() throws Exception {
    Path airflow = Path.of("..", "airflow");
    Process p = new ProcessBuilder("python3", airflow.resolve("dag_spec.py").toString(),
        airflow.resolve("dags/sparsetrain_pipeline.py").toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(60, TimeUnit.SECONDS);
    assertEquals(0, p.exitValue(), out);
    JsonNode args = new ObjectMapper().readTree(out).get("tasks").get("evaluate").get("application_args");
    List<String> a = new ArrayList<>();
    args.forEach(n -> a.add(n.asText().replace("{{ params.output_dir }}", "s3a://bucket/runs/r")
        .replace("{{ params.dataset }}", "s3a://bucket/datasets/fm")));
    assertEquals("evaluate", a.get(0));
    EvaluateCommand cmd = new EvaluateCommand();
    new CommandLine(cmd).parseArgs(a.subList(1, a.size()).toArray(new String[0]));
    EvaluateOptions o = cmd.options();
    assertEquals(List.of(new ModelSource(ModelSource.Kind.CHECKPOINT, null, "s3a://bucket/runs/r/checkpoints", null)),
        o.models());
    assertEquals("s3a://bucket/datasets/fm", o.data());
    assertEquals("test", o.split());
    assertEquals("s3a://bucket/runs/r/evaluation", o.output());
  }
}
