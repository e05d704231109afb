package io.sparsetrain.jobs.compare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparsetrain.jobs.Main;
import io.sparsetrain.jobs.sparsify.SparsifyFixtures;
import io.sparsetrain.jobs.sparsify.SparsifyMethod;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The compare job end to end on the sparsify fixtures (a small CNN on real Fashion-MNIST images, local[2]). */
class CompareJobTest {

  @TempDir
  Path tmp;

  static CompareOptions.Builder base(Path out) {
    return CompareOptions.builder().model(SparsifyFixtures.model().toString()).data(SparsifyFixtures.dataset().toString())
        .output(out.toString()).targets(List.of(0.7, 0.5))
        .methods(List.of(SparsifyMethod.UNIFORM, SparsifyMethod.ERK, SparsifyMethod.MAGNITUDE_NM, SparsifyMethod.STR_BN))
        .sparsify("--workers", 2, b -> b.workers(2)).sparsify("--max-test-examples", 256, b -> b.maxTestExamples(256));
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> read(Path p) throws Exception {
    return new ObjectMapper().readValue(p.toFile(), Map.class);
  }

  @Test
  @SuppressWarnings("unchecked")
  void tableIsCompleteAndMatchesEachCellAndResumeSkipsFinishedCells() throws Exception {
    Path out = tmp.resolve("cmp");
    List<String> lines = new ArrayList<>();
    CompareJob.Result r = CompareJob.run(SparsifyFixtures.spark(), base(out).build(), lines::add);
    lines.forEach(System.out::println);

    List<String> cells = List.of("uniform-50", "uniform-70", "erk-50", "erk-70", "magnitude-nm-2of4", "str-bn");
    assertEquals(cells, r.rows().stream().map(CompareJob.Row::cell).toList(), "targets sorted, methods in order");
    Map<String, Object> j = read(out.resolve("compare.json"));
    List<Map<String, Object>> rows = (List<Map<String, Object>>) j.get("rows");
    assertEquals(6, rows.size());
    Map<String, Object> dense = (Map<String, Object>) j.get("dense");
    String md = Files.readString(out.resolve("compare.md"));
    for (Map<String, Object> row : rows) {
      Map<String, Object> cell = read(out.resolve("cells").resolve((String) row.get("cell")).resolve("sparsify.json"));
      assertEquals(cell.get("method"), row.get("method"));
      assertEquals(cell.get("top1After"), row.get("top1"), row.get("cell") + " top-1");
      assertEquals(cell.get("top5After"), row.get("top5"), row.get("cell") + " top-5");
      assertEquals(cell.get(row.get("method").equals("str-bn") ? "parameterReduction" : "achievedGlobalSparsity"),
          row.get("sparsity"));
      assertEquals(cell.get("sparsifySeconds"), row.get("sparsifySeconds"));
      assertEquals(cell.get("top1Before"), dense.get("top1"), "dense row = every cell's model before");
      assertEquals(cell.get("top5Before"), dense.get("top5"));
      assertEquals(cell.get("testExamples"), j.get("testExamples"));
      assertTrue((double) row.get("top5") >= (double) row.get("top1"));
      if (row.get("method").equals("str-bn")) {
        assertTrue(((String) row.get("detail")).matches("\\d+ of 56 filters removed, MACs -\\d+\\.\\d%"), row.toString());
      } else if (row.get("targetSparsity") != null) {
        assertEquals((double) row.get("targetSparsity"), (double) row.get("sparsity"), 0.001);
      } else {
        assertEquals("2:4", row.get("nm"));
        assertEquals(0.5, (double) row.get("sparsity"), 0.01);
      }
      // the markdown row of this cell carries the cell's top-1 and top-5 in percent
      String top1 = String.format(java.util.Locale.ROOT, "%.2f", 100 * (double) row.get("top1"));
      String top5 = String.format(java.util.Locale.ROOT, "%.2f", 100 * (double) row.get("top5"));
      assertTrue(md.lines().anyMatch(l -> l.startsWith("| " + row.get("method") + " |") && l.contains("| " + top1 + " | "
          + top5 + " |")), row + "\n" + md);
    }
    long examples = ((Number) j.get("testExamples")).longValue();
    assertTrue(examples > 0 && examples <= 256, "--max-test-examples 256 passed to the cells: " + examples);
    assertTrue(md.contains("| dense | 0% |"), md);
    assertTrue(md.contains("## Top-1 by global sparsity") && md.contains("| 50% | 70% |"), md);
    assertTrue(Files.size(out.resolve("accuracy-vs-sparsity.png")) > 1000);
    assertTrue(Files.readString(out.resolve("report.html")).contains("accuracy-vs-sparsity.png"));
    try (Stream<Path> s = Files.walk(out)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith("_tmp-")), "no temporaries left");
    }
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("compare: cell 3/6 erk-50: running")), lines.toString());
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("[erk-50] top-1 after: ")), "cell progress is passed on");

    // a second run into the same directory is refused without --resume
    CompareException e = assertThrows(CompareException.class, () -> CompareJob.run(SparsifyFixtures.spark(),
        base(out).build(), s -> { }));
    assertTrue(e.getMessage().contains("--resume"), e.getMessage());

    // an interrupted comparison: one cell lost; --resume runs only that one and keeps the others' files
    byte[] uniform50 = Files.readAllBytes(out.resolve("cells/uniform-50/sparsify.json"));
    deleteTree(out.resolve("cells/erk-70"));
    List<String> again = new ArrayList<>();
    CompareJob.Result r2 = CompareJob.run(SparsifyFixtures.spark(), base(out).resume(true).build(), again::add);
    assertEquals(5, again.stream().filter(l -> l.endsWith("finished before, skipped")).count(), again.toString());
    assertTrue(again.stream().anyMatch(l -> l.startsWith("compare: cell 4/6 erk-70: running")), again.toString());
    assertArrayEquals(uniform50, Files.readAllBytes(out.resolve("cells/uniform-50/sparsify.json")), "not re-run");
    assertEquals(r.rows().stream().map(CompareJob.Row::top1).toList(), r2.rows().stream().map(CompareJob.Row::top1).toList(),
        "magnitude masks are deterministic: the re-run cell gives the same top-1");
    assertEquals(List.of(false, false, false, true, false, false), r2.rows().stream().map(x -> !x.skipped()).toList());

    // resuming with other settings is refused, naming the setting
    e = assertThrows(CompareException.class, () -> CompareJob.run(SparsifyFixtures.spark(), base(out).resume(true)
        .sparsify("--max-test-examples", 128, b -> b.maxTestExamples(128)).build(), s -> { }));
    assertTrue(e.getMessage().contains("maxTestExamples") && e.getMessage().contains("256")
        && e.getMessage().contains("128"), e.getMessage());
  }

  @Test
  void methodSpecificOptionsReachOnlyTheCellsTheyApplyTo() {
    CompareCommand cmd = new CompareCommand();
    new picocli.CommandLine(cmd).parseArgs("--model", "m.zip", "--data", "d", "--output", tmp.resolve("c").toString(),
        "--methods", "uniform,allocation,magnitude-nm,learned-nm,str-bn", "--targets", "0.7", "--bn-recalibration",
        "64", "--exclude-first-conv", "--batch-statistics");
    CompareOptions o = cmd.options();
    assertEquals(5, o.cells().size());
    for (CompareOptions.Cell c : o.cells()) {
      boolean mask = c.method() != SparsifyMethod.STR_BN;
      boolean learned = c.method() == SparsifyMethod.LEARNED_NM || c.method() == SparsifyMethod.ALLOCATION;
      assertEquals(mask, c.options().excludeFirstConv(), c.id());
      assertEquals(learned, c.options().batchStatistics(), c.id());
    }
  }

  @Test
  void badInputsGetClearErrors() throws Exception {
    Path out = tmp.resolve("bad");
    CompareException e = assertThrows(CompareException.class, () -> CompareOptions.parseMethods("uniform,prune-harder"));
    assertTrue(e.getMessage().contains("unknown method 'prune-harder'") && e.getMessage().contains("learned-nm"),
        e.getMessage());
    e = assertThrows(CompareException.class, () -> CompareOptions.parseTargets("0.5,abc"));
    assertTrue(e.getMessage().contains("'abc' is not a number"), e.getMessage());
    e = assertThrows(CompareException.class, () -> base(out).targets(List.of(0.5, 70.0)).build());
    assertTrue(e.getMessage().contains("(0.7, not 70)") && e.getMessage().contains("70.0"), e.getMessage());
    e = assertThrows(CompareException.class, () -> base(out).targets(List.of(0.5, 0.5)).build());
    assertTrue(e.getMessage().contains("twice"), e.getMessage());
    e = assertThrows(CompareException.class, () -> base(out).targets(List.of()).build());
    assertTrue(e.getMessage().contains("--targets is empty"), e.getMessage());
    e = assertThrows(CompareException.class, () -> base(out).methods(List.of(SparsifyMethod.APPLY)).build());
    assertTrue(e.getMessage().contains("apply"), e.getMessage());
    e = assertThrows(CompareException.class, () -> base(out).sparsify("--epochs", 0, b -> b.epochs(0)).build());
    assertTrue(e.getMessage().contains("--epochs must be >= 1"), e.getMessage());

    // the command line: one clear line and exit code 1, before any Spark work
    for (String[] args : List.of(new String[] {"--methods", "uniform,nope"}, new String[] {"--targets", "50,60"})) {
      PrintStream err = System.err;
      ByteArrayOutputStream captured = new ByteArrayOutputStream();
      System.setErr(new PrintStream(captured, true));
      int code;
      try {
        List<String> a = new ArrayList<>(List.of("compare", "--model", SparsifyFixtures.model().toString(), "--data",
            SparsifyFixtures.dataset().toString(), "--output", out.toString()));
        a.addAll(List.of(args));
        code = Main.run(a.toArray(new String[0]));
      } finally {
        System.setErr(err);
      }
      assertEquals(1, code);
      assertTrue(captured.toString().contains(args[0].equals("--methods") ? "unknown method 'nope'"
          : "--targets must be fractions of zeros in (0, 1)"), captured.toString());
    }
    assertTrue(!Files.exists(out.resolve("cells")), "nothing written for bad options");
  }

  private static void deleteTree(Path p) throws Exception {
    try (Stream<Path> s = Files.walk(p)) {
      for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(x);
      }
    }
  }
}
