package io.sparsetrain.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparsetrain.jobs.train.report.EpochRecord;
import io.sparsetrain.jobs.train.report.TrainReport;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

/** metrics.json, report.html and the PNGs from synthetic epochs (written to target/train-report-sample to look at). */
class TrainReportTest {

  static List<EpochRecord> epochs() {
    List<EpochRecord> out = new ArrayList<>();
    for (int e = 0; e < 10; e++) {
      EpochRecord r = new EpochRecord();
      r.epoch = e;
      r.step = (e + 1) * 50L;
      r.phase = e < 3 ? "dense" : e < 7 ? "pruning" : "frozen";
      double p = Math.min(1, Math.max(0, (e - 2) / 4.0));
      r.scheduledSparsity = 0.7 + (0 - 0.7) * Math.pow(1 - p, 3);
      r.achievedSparsity = r.scheduledSparsity;
      r.trainLoss = 2.0 / (e + 1);
      r.testTop1 = 0.6 + 0.03 * e;
      r.testTop5 = 0.9 + 0.009 * e;
      r.images = 60000;
      r.imagesPerSecond = r.phase.equals("frozen") ? 55 : 40;
      r.seconds = r.images / r.imagesPerSecond;
      r.learningRate = 0.05;
      Map<String, Double> layers = new LinkedHashMap<>();
      layers.put("conv1", 0.0);
      for (int l = 1; l <= 6; l++) {
        layers.put("s" + ((l + 1) / 2) + "b1_conv" + (2 - l % 2), r.achievedSparsity * (0.8 + 0.05 * l));
      }
      layers.put("output", 0.0);
      r.layerSparsity = layers;
      out.add(r);
    }
    return out;
  }

  @Test
  void writesMetricsHtmlAndReadablePngs() throws Exception {
    Path dir = Path.of("target", "train-report-sample");
    TrainReport.write(dir.toString(), new Configuration(), "sample run", Map.of("train.name", "sample"), epochs(), 123.4);
    JsonNode m = new ObjectMapper().readTree(dir.resolve(TrainReport.METRICS).toFile());
    assertEquals(10, m.get("epochs").size());
    assertEquals(0.7, m.get("final").get("globalSparsity").asDouble(), 1e-9);
    assertEquals(55.0, m.get("final").get("imagesPerSecondFrozenSparse").asDouble(), 1e-9);
    assertEquals(40.0, m.get("final").get("imagesPerSecondDense").asDouble(), 1e-9);
    String html = Files.readString(dir.resolve(TrainReport.HTML));
    for (String png : List.of(TrainReport.SPARSITY_PNG, TrainReport.LAYERS_PNG, TrainReport.LOSS_PNG,
        TrainReport.THROUGHPUT_PNG)) {
      assertTrue(html.contains("src=\"" + png + "\""), png);
      BufferedImage img = ImageIO.read(dir.resolve(png).toFile());
      assertEquals(800, img.getWidth(), png);
    }
    assertTrue(html.contains("<th>testTop1</th>"), "final numbers table");
  }
}
