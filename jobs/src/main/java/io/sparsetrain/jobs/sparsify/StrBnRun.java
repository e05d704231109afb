package io.sparsetrain.jobs.sparsify;

import io.sparsetrain.dataprep.BatchAugmenter;
import io.sparsetrain.nn.strbn.LayerRemoval;
import io.sparsetrain.nn.strbn.StrBnOptions;
import io.sparsetrain.nn.strbn.StrBnResult;
import io.sparsetrain.nn.strbn.StrBnSparsifier;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * The {@code str-bn} method of the sparsify job: STR-BN ({@link StrBnSparsifier}, METHODS.md section 4) on the
 * first {@code --calibration-size} training images, then the dead filters physically removed; the output model is
 * a smaller dense model. Training runs <b>on the driver</b> (one JVM, no parameter averaging, no checkpoint:
 * an interrupted run starts again); only the test-split evaluations run on the executors.
 */
final class StrBnRun {
  /** Filters kept / removed per layer. */
  static final String FILTERS_PNG = "layer-filters.png";

  private StrBnRun() {}

  static SparsifyJob.Result run(SparsifyOptions o, ComputationGraph original, JavaSparkContext jsc, JavaRDD<DataSet> test,
      SparkEvaluation.Accuracy before, FileSystem fs, Path out, Configuration hconf, Consumer<String> progress, long t0)
      throws IOException {
    long start = System.nanoTime();
    // the first whole minibatches holding at most --calibration-size images, in memory
    List<DataSet> batches = SparsifyJob.firstTrainBatches(o, hconf, o.batchSize(), o.calibrationSize(), false);
    long images = batches.stream().mapToLong(DataSet::numExamples).sum();
    StrBnOptions opts = o.strBnOptions();
    int epochs = opts.epochs() + opts.fineTuneEpochs();
    long steps = (long) batches.size() * epochs;
    // the train job's augmentation (padding with the pixel value a black pixel normalises to)
    BatchAugmenter augmenter = BatchAugmenter.of(SparsifyJob.batchOptionsBuilder(o, o.batchSize())
        .randomCrop(o.randomCropPadding()).horizontalFlip(o.horizontalFlip()).build());
    progress.accept(String.format(Locale.ROOT, "sparsify str-bn: %d calibration images in %d minibatches of %d, %d epochs, "
            + "%d steps, on the driver (STR-BN training is not distributed)%s; %s", images, batches.size(), o.batchSize(),
        epochs, steps, augmenter.isActive() ? String.format(Locale.ROOT,
            ", augmented (random crop padding %d, horizontal flip %s, fresh minibatch order every epoch)",
            o.randomCropPadding(), o.horizontalFlip()) : "", opts));
    int every = (int) Math.max(1, steps / 20);
    long[] lastTime = {System.nanoTime()};
    long[] lastStep = {0};
    DataSetIterator train = augmenter.isActive() ? new EpochBatches(batches, augmenter, o.seed())
        : new ExistingDataSetIterator(batches);
    StrBnResult r = StrBnSparsifier.run(original, train, opts, p -> {
      if (p.step() % every != 0 && p.step() != steps) {
        return;
      }
      long now = System.nanoTime();
      double rate = (p.step() - lastStep[0]) * (double) images / batches.size() / ((now - lastTime[0]) / 1e9);
      lastTime[0] = now;
      lastStep[0] = p.step();
      double elapsed = (now - start) / 1e9;
      int channels = p.layers().stream().mapToInt(l -> l.channels()).sum();
      progress.accept(String.format(Locale.ROOT, "%sepoch %d/%d step %d/%d loss %.4f l2 %.4f dead channels %d/%d %.1f "
              + "images/s elapsed %s eta %s", p.epoch() >= opts.epochs() ? "fine-tune " : "", p.epoch() + 1, epochs, p.step(), steps, p.loss(), p.regularization(),
          p.deadTotal(), channels, rate, io.sparsetrain.jobs.RunOrder.hms(elapsed), io.sparsetrain.jobs.RunOrder.hms(elapsed / p.step() * (steps - p.step()))));
    });
    double sparsifySeconds = (System.nanoTime() - start) / 1e9;
    if (opts.stopAtRemoved() > 0 && r.steps() < (long) batches.size() * opts.epochs()) {
      progress.accept(String.format(Locale.ROOT, "STR-BN phase ended at step %d of %d: %d of %d filters removable "
          + "(--stop-at-removed %s)", r.steps(), (long) batches.size() * opts.epochs(), r.filtersRemoved(),
          r.layers().stream().mapToInt(LayerRemoval::before).sum(), opts.stopAtRemoved()));
    }
    for (String line : r.summary().split("\n")) {
      progress.accept(line);
    }
    ComputationGraph smaller = r.model();
    SparkEvaluation.Accuracy removal = null;
    if (r.fineTuned() != null) {
      removal = SparkEvaluation.top1(jsc, SparsifyJob.zip(r.smaller()), test);
      progress.accept(String.format(Locale.ROOT, "top-1 after the removal, before the fine-tune: %.4f", removal.top1()));
    }
    SparkEvaluation.Accuracy after = SparkEvaluation.top1(jsc, SparsifyJob.zip(smaller), test);
    int filters = r.layers().stream().mapToInt(LayerRemoval::before).sum();
    progress.accept(String.format(Locale.ROOT, "top-1 after: %.4f (before %.4f), top-5 %.4f (before %.4f); %d of %d "
            + "filters removed, parameters %d -> %d", after.top1(), before.top1(), after.top5(), before.top5(),
        r.filtersRemoved(), filters, r.before().parameters(), r.after().parameters()));

    Map<String, Object> s = summary(o, r, before, after, images, sparsifySeconds, (System.nanoTime() - t0) / 1e9);
    if (removal != null) {
      s.put("top1BeforeFineTune", removal.top1());
      s.put("fineTuneSteps", r.fineTuneSteps());
      s.put("fineTuneLoss", r.fineTuneLoss());
    }
    SparsifyJob.write(fs, new Path(out, SparsifyJob.MODEL), SparsifyJob.zip(smaller));
    Path stale = new Path(out, SparsifyJob.MASKS); // an overwritten mask-method run's; str-bn has no mask file
    if (fs.exists(stale)) {
      fs.delete(stale, false);
    }
    SparsifyJob.write(fs, new Path(out, FILTERS_PNG), StrBnReport.filtersPng(s));
    SparsifyJob.write(fs, new Path(out, SparsifyReport.HTML), StrBnReport.html(s));
    SparsifyJob.write(fs, new Path(out, SparsifyReport.JSON), SparsifyReport.json(s)); // last: marks a finished run
    progress.accept("sparsify str-bn: done, " + new Path(out, SparsifyReport.HTML));
    return new SparsifyJob.Result(s, null, smaller);
  }

  private static Map<String, Object> summary(SparsifyOptions o, StrBnResult r, SparkEvaluation.Accuracy before,
      SparkEvaluation.Accuracy after, long images, double sparsifySeconds, double wall) {
    List<Map<String, Object>> layers = new ArrayList<>();
    int filters = 0;
    for (LayerRemoval l : r.layers()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", l.layer());
      m.put("batchNorm", l.batchNorm());
      m.put("filtersBefore", l.before());
      m.put("dead", l.dead());
      m.put("filtersAfter", l.after());
      m.put("removed", l.removed());
      m.put("fractionRemoved", l.removed() / (double) l.before());
      layers.add(m);
      filters += l.before();
    }
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("formatVersion", 1);
    s.put("method", o.method().cliName());
    s.put("targetSparsity", null);
    s.put("filtersBefore", filters);
    s.put("filtersRemoved", r.filtersRemoved());
    s.put("fractionFiltersRemoved", r.filtersRemoved() / (double) filters);
    s.put("parametersBefore", r.before().parameters());
    s.put("parametersAfter", r.after().parameters());
    s.put("parameterReduction", 1 - r.after().parameters() / (double) r.before().parameters());
    s.put("multiplyAddsBefore", r.before().multiplyAdds());
    s.put("multiplyAddsAfter", r.after().multiplyAdds());
    s.put("multiplyAddReduction", 1 - r.after().multiplyAdds() / (double) r.before().multiplyAdds());
    s.put("top1Before", before.top1());
    s.put("top1After", after.top1());
    s.put("top5Before", before.top5());
    s.put("top5After", after.top5());
    s.put("testExamples", after.examples());
    s.put("wallSeconds", wall);
    s.put("sparsifySeconds", sparsifySeconds);
    s.put("execution", "driver");
    s.put("calibrationExamples", images);
    s.put("steps", r.steps());
    s.put("finalLoss", r.finalLoss());
    s.put("insertedBatchNorms", r.inserted());
    s.put("notes", r.notes());
    s.put("layers", layers);
    s.put("options", o.asMap());
    return s;
  }
}
