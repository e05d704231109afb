package io.sparsetrain.jobs.evaluate;

import io.sparsetrain.dataprep.BatchOptions;
import io.sparsetrain.dataprep.DataPrepException;
import io.sparsetrain.dataprep.Manifest;
import io.sparsetrain.dataprep.ParquetDataSets;
import io.sparsetrain.dataprep.ShardDataSetIterator;
import io.sparsetrain.jobs.evaluate.EvaluationResult.ModelResult;
import io.sparsetrain.jobs.train.model.PrunableModel;
import io.sparsetrain.jobs.train.pruning.DriverPruningControl;
import io.sparsetrain.nn.MaskedNetwork;
import io.sparsetrain.nn.infer.InferencePlan;
import io.sparsetrain.nn.layers.SparseLayer;
import io.sparsetrain.prune.Mask;
import io.sparsetrain.prune.MaskSet;
import io.sparsetrain.prune.PrunableLayer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.LongAccumulator;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * One evaluation run: checks the inputs (dataset manifest, split, output, every model and its masks) before any
 * heavy work, then per model computes accuracy, FGSM and the certificate either on the executors (one task per
 * shard of {@link ParquetDataSets#dataSets}, counts reduced on the driver) or locally on the driver
 * ({@link ParquetDataSets#localIterator}); both take the same examples (with {@code --max-examples}, the first
 * rows of every shard in proportion to its size). The certificate's empirical check and the speed measurement
 * always run on the driver. Writes the report atomically at the end.
 */
public final class EvaluateJob {
  private EvaluateJob() {}

  /**
   * @param spark supplies the SparkSession when the run is distributed (not called for a local run)
   * @param progress receives progress lines
   */
  public static EvaluationResult run(EvaluateOptions o, Configuration hconf, Supplier<SparkSession> spark,
      Consumer<String> progress) {
    long t0 = System.nanoTime();
    progress.accept(o.toString().trim());
    // ---- preflight
    Manifest manifest = readManifest(o, hconf);
    Manifest.Split split = manifest.splits.get(o.split());
    long rows = split.rows;
    long[] shardRows = split.shards.stream().mapToLong(s -> s.rows).toArray();
    long[] quotas = quotas(shardRows, o.maxExamples());
    long examples = 0;
    for (long q : quotas) {
      examples += q;
    }
    EvaluationReport.checkOutput(o.output(), hconf);
    ModelLoader loader = new ModelLoader(hconf);
    List<LoadedModel> models = new ArrayList<>();
    Set<String> labels = new HashSet<>();
    for (ModelSource s : o.models()) {
      LoadedModel m = loader.load(s);
      String label = m.label();
      for (int k = 2; !labels.add(label); k++) {
        label = m.label() + "#" + k;
      }
      if (!label.equals(m.label())) {
        m = new LoadedModel(label, m.source(), m.checkpoint(), m.state(), m.evaluated(), m.reference(), m.masks(),
            m.normalization());
      }
      checkShape(m, manifest);
      models.add(m);
      progress.accept("loaded " + label + " from " + s + ": " + describe(m));
    }
    String normalization = normalization(o, models);
    double lo = 0;
    double hi = normalization.equals("none") ? 255 : 1;
    BatchOptions batchOpts = BatchOptions.builder().batchSize(o.batchSize())
        .normalization(normalization.equals("none") ? BatchOptions.Normalization.NONE
            : BatchOptions.Normalization.UNIT).build();
    EvalSpec spec = new EvalSpec(manifest.numClasses, Math.min(5, manifest.numClasses), o.eps(), lo, hi);
    boolean local = o.execution().equals("local")
        || (o.execution().equals("auto") && examples <= o.localThreshold());
    String reason = o.execution().equals("auto")
        ? String.format(Locale.ROOT, "--execution auto: %d examples %s --local-threshold %d", examples,
            local ? "<=" : ">", o.localThreshold())
        : "--execution " + o.execution();
    SparkSession session = local ? null : spark.get();

    EvaluationResult result = new EvaluationResult();
    result.createdAt = Instant.now().toString();
    result.data.path = EvaluateOptions.redact(o.data());
    result.data.split = o.split();
    result.data.splitRows = rows;
    result.data.examples = examples;
    result.data.maxExamples = o.maxExamples();
    result.data.normalization = normalization;
    result.data.inputLow = lo;
    result.data.inputHigh = hi;
    result.data.classes = new ArrayList<>(manifest.classes);
    result.execution.mode = local ? "local" : "distributed";
    result.execution.reason = reason;
    result.execution.batchSize = o.batchSize();
    result.execution.shards = shardRows.length;
    result.execution.sparkMaster = session == null ? null : session.sparkContext().master();
    for (double e : o.eps()) {
      result.fgsmEps.add(e);
    }
    progress.accept(String.format(Locale.ROOT, "evaluating %d model(s) on %d of %d '%s' examples (%d shards), %s: %s",
        models.size(), examples, rows, o.split(), shardRows.length, result.execution.mode, reason));

    // the first evaluated examples, on the driver: certificate check and speed input
    int sampleSize = Math.max(o.certVerifyExamples(), 32);
    DataSet sample = firstExamples(o, manifest, batchOpts, hconf, shardRows, quotas, sampleSize);

    for (int i = 0; i < models.size(); i++) {
      LoadedModel m = models.get(i);
      String tag = String.format(Locale.ROOT, "model %d/%d %s", i + 1, models.size(), m.label());
      ModelResult mr = new ModelResult();
      mr.label = m.label();
      mr.source = m.source().toString();
      mr.checkpoint = m.checkpoint();
      if (m.state() != null) {
        mr.runName = m.state().name;
        mr.step = m.state().step;
        mr.epochsDone = m.state().epoch;
      }
      mr.sparseLayers = m.sparseLayers();
      mr.frozen = m.sparseLayers() && MaskedNetwork.of(m.evaluated()).isFrozen();
      mr.compressedLayers = new ArrayList<>(m.compressedLayers());
      sparsity(m, mr);
      Certificate.Setup cert = Certificate.prepare(m, o.certificate());
      progress.accept(tag + ": certificate " + cert.plan().mode() + " (" + cert.plan().description() + ")"
          + (cert.plan().unavailable() != null ? ": " + cert.plan().unavailable() : "\n"
              + Certificate.describe(cert.plan()).stripTrailing()));
      EvalCounts counts = local
          ? evaluateLocal(o, manifest, batchOpts, hconf, shardRows, quotas, m, cert, spec, tag, progress)
          : evaluateDistributed(session, o, batchOpts, quotas, m, cert, spec, tag, progress);
      if (counts.examples != examples) {
        throw new IllegalStateException(tag + ": evaluated " + counts.examples + " examples, expected " + examples);
      }
      fill(mr, counts, spec, manifest, cert);
      if (cert.plan().active() && o.certVerifyExamples() > 0) {
        mr.certificate.verification = verify(cert, sample, o.certVerifyExamples(), spec);
        progress.accept(String.format(Locale.ROOT, "%s: certificate checked on %d examples, %d violations", tag,
            mr.certificate.verification.examples, mr.certificate.verification.violations));
      }
      speed(o, m, sample, mr, tag, progress);
      progress.accept(String.format(Locale.ROOT, "%s: top-1 %.4f top-5 %.4f FGSM %s global sparsity %.4f "
              + "certified (all layers) %s, %.1f examples/s", tag, mr.top1, mr.top5, fgsmLine(mr),
          mr.globalSparsity, mr.certificate.unavailable == null ? String.format(Locale.ROOT, "%.4f",
              mr.certificate.overallFraction) : "n/a", mr.examplesPerSecond));
      result.models.add(mr);
    }
    EvaluationReport.publish(o.output(), hconf, result);
    progress.accept(String.format(Locale.ROOT, "evaluate: done in %.1f s, report %s/%s", (System.nanoTime() - t0) / 1e9,
        o.output(), EvaluationReport.HTML));
    return result;
  }

  // ------------------------------------------------------------------ preflight

  static Manifest readManifest(EvaluateOptions o, Configuration hconf) {
    String data = EvaluateOptions.redact(o.data());
    Manifest m;
    try {
      m = Manifest.read(o.data(), hconf);
    } catch (DataPrepException | UncheckedIOException e) {
      throw new EvaluateException("--data " + data + ": " + e.getMessage(), e);
    }
    Manifest.Split s = m.splits.get(o.split());
    if (s == null) {
      throw new EvaluateException("--split '" + o.split() + "' is not in --data " + data + " (it has splits "
          + m.splits.keySet() + ")");
    }
    if (s.rows == 0 || s.shards.isEmpty()) {
      throw new EvaluateException("--split '" + o.split() + "' of --data " + data + " is empty (0 rows)");
    }
    if (!m.image.isFixed()) {
      throw new EvaluateException("--data " + data + " has images of varying size; prep it with --resize or "
          + "--center-crop");
    }
    return m;
  }

  /** The model takes the dataset's images and has one output per class. */
  private static void checkShape(LoadedModel m, Manifest manifest) {
    ComputationGraph g = m.evaluated();
    if (g.getConfiguration().getNetworkInputs().size() != 1 || g.getConfiguration().getNetworkOutputs().size() != 1) {
      throw new EvaluateException("model " + m.label() + " (" + m.source() + ") must have one input and one output");
    }
    INDArray x = Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, 1, manifest.image.channels,
        manifest.image.height, manifest.image.width);
    INDArray out;
    try {
      out = g.outputSingle(false, x);
    } catch (RuntimeException e) {
      throw new EvaluateException("model " + m.label() + " (" + m.source() + ") cannot take the dataset's "
          + manifest.image.channels + "x" + manifest.image.height + "x" + manifest.image.width + " images: "
          + e.getMessage(), e);
    }
    if (out.size(1) != manifest.numClasses) {
      throw new EvaluateException("model " + m.label() + " (" + m.source() + ") has " + out.size(1) + " outputs, "
          + "the dataset has " + manifest.numClasses + " classes");
    }
  }

  private static String normalization(EvaluateOptions o, List<LoadedModel> models) {
    if (o.normalization() != null) {
      return o.normalization();
    }
    Set<String> seen = new LinkedHashSet<>();
    for (LoadedModel m : models) {
      if (m.normalization() != null) {
        seen.add(m.normalization());
      }
    }
    if (seen.size() > 1) {
      throw new EvaluateException("the models were trained with different normalizations " + seen
          + "; evaluate them in separate runs or pass --normalization");
    }
    String n = seen.isEmpty() ? "unit" : seen.iterator().next();
    if (!n.equals("unit") && !n.equals("none")) {
      throw new EvaluateException("the training run's normalization '" + n + "' is not supported (unit or none)");
    }
    return n;
  }

  /**
   * Examples to take from each shard: all rows when {@code max} is 0 or covers the split, else {@code max} split
   * in proportion to the shard sizes (largest remainders), so every executor gets a share.
   */
  static long[] quotas(long[] shardRows, long max) {
    long total = 0;
    for (long r : shardRows) {
      total += r;
    }
    if (max <= 0 || max >= total) {
      return shardRows.clone();
    }
    long[] q = new long[shardRows.length];
    double[] rem = new double[shardRows.length];
    long given = 0;
    for (int s = 0; s < q.length; s++) {
      double exact = (double) max * shardRows[s] / total;
      q[s] = (long) Math.floor(exact);
      rem[s] = exact - q[s];
      given += q[s];
    }
    while (given < max) {
      int best = -1;
      for (int s = 0; s < q.length; s++) {
        if (q[s] < shardRows[s] && (best < 0 || rem[s] > rem[best])) {
          best = s;
        }
      }
      q[best]++;
      rem[best] = -1;
      given++;
    }
    return q;
  }

  private static String describe(LoadedModel m) {
    int prunable = LoadedModel.prunable(m.evaluated(), m.masks().size() > 0 ? m.masks() : null).prunableLayers()
        .size();
    return (m.sparseLayers() ? "sparse layers" : "stock DL4J layers") + ", " + prunable + " prunable layers, "
        + m.compressedLayers().size() + " on compressed N:M kernels"
        + (m.checkpoint() != null ? ", checkpoint " + m.checkpoint() + " (step " + m.state().step + ")" : "")
        + (m.reference() != m.evaluated() ? ", --masks applied and frozen" : "");
  }

  // ------------------------------------------------------------------ evaluation

  /** The rows of a local-iterator batch that belong to the evaluated examples. */
  private static final class RowFilter {
    private final long[] cumulative;
    private final long[] quotas;
    private long row;

    RowFilter(long[] shardRows, long[] quotas) {
      this.cumulative = new long[shardRows.length + 1];
      for (int s = 0; s < shardRows.length; s++) {
        cumulative[s + 1] = cumulative[s] + shardRows[s];
      }
      this.quotas = quotas;
    }

    /** The kept rows of the next batch, or the batch itself when all are kept, or null when none is. */
    DataSet next(DataSet ds) {
      int n = ds.numExamples();
      List<Integer> keep = new ArrayList<>();
      int shard = 0;
      for (int i = 0; i < n; i++, row++) {
        while (row >= cumulative[shard + 1]) {
          shard++;
        }
        if (row - cumulative[shard] < quotas[shard]) {
          keep.add(i);
        }
      }
      if (keep.size() == n) {
        return ds;
      }
      if (keep.isEmpty()) {
        return null;
      }
      long[] idx = keep.stream().mapToLong(Integer::longValue).toArray();
      return new DataSet(ds.getFeatures().get(NDArrayIndex.indices(idx)).dup(),
          ds.getLabels().get(NDArrayIndex.indices(idx)).dup());
    }
  }

  private static EvalCounts evaluateLocal(EvaluateOptions o, Manifest manifest, BatchOptions batchOpts,
      Configuration hconf, long[] shardRows, long[] quotas, LoadedModel m, Certificate.Setup cert, EvalSpec spec,
      String tag, Consumer<String> progress) {
    BatchEvaluator ev = new BatchEvaluator(m.evaluated(), cert.other(), cert.plan(), spec);
    EvalCounts total = new EvalCounts(spec.classes(), spec.eps().length, cert.plan().layers().size());
    long expected = 0;
    for (long q : quotas) {
      expected += q;
    }
    RowFilter filter = new RowFilter(shardRows, quotas);
    ShardDataSetIterator it = ParquetDataSets.localIterator(o.data(), o.split(), batchOpts, hconf);
    long start = System.nanoTime();
    long lastPrint = start;
    while (it.hasNext() && total.examples < expected) {
      DataSet ds = filter.next(it.next());
      if (ds == null) {
        continue;
      }
      total.add(ev.evaluate(ds));
      long now = System.nanoTime();
      if (now - lastPrint > 5_000_000_000L || total.examples == expected) {
        lastPrint = now;
        progress.accept(String.format(Locale.ROOT, "%s: %d/%d examples (local), %.1f examples/s", tag,
            total.examples, expected, total.examples / ((now - start) / 1e9)));
      }
    }
    total.seconds = (System.nanoTime() - start) / 1e9;
    return total;
  }

  /** What an executor needs to evaluate its shard: the networks as model-zip bytes, the plan and the quotas. */
  record EvalTask(byte[] evaluated, byte[] other, Certificate.Plan plan, EvalSpec spec, long[] quotas)
      implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  private static EvalCounts evaluateDistributed(SparkSession spark, EvaluateOptions o, BatchOptions batchOpts,
      long[] quotas, LoadedModel m, Certificate.Setup cert, EvalSpec spec, String tag, Consumer<String> progress) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    long expected = 0;
    for (long q : quotas) {
      expected += q;
    }
    EvalTask task = new EvalTask(toBytes(m.evaluated()), cert.other() == null ? null : toBytes(cert.other()),
        cert.plan(), spec, quotas);
    Broadcast<byte[]> b = jsc.broadcast(javaSerialize(task)); // Java serialization: Kryo cannot build records
    LongAccumulator done = jsc.sc().longAccumulator("evaluate " + m.label() + " examples");
    jsc.setJobDescription("evaluate " + m.label() + ": accuracy, FGSM and certificate on the '" + o.split()
        + "' shards");
    try {
      JavaRDD<DataSet> data = ParquetDataSets.dataSets(spark, o.data(), o.split(), batchOpts);
      JavaRDD<EvalCounts> parts = data.mapPartitionsWithIndex((shard, it) -> {
        EvalTask t = (EvalTask) javaDeserialize(b.value());
        ComputationGraph e = fromBytes(t.evaluated());
        ComputationGraph other = t.other() == null ? null : fromBytes(t.other());
        BatchEvaluator ev = new BatchEvaluator(e, other, t.plan(), t.spec());
        EvalCounts c = new EvalCounts(t.spec().classes(), t.spec().eps().length, t.plan().layers().size());
        long quota = t.quotas()[shard];
        long taken = 0;
        while (it.hasNext() && taken < quota) {
          DataSet ds = it.next();
          int n = ds.numExamples();
          if (taken + n > quota) {
            int k = (int) (quota - taken);
            ds = new DataSet(ds.getFeatures().get(NDArrayIndex.interval(0, k)).dup(),
                ds.getLabels().get(NDArrayIndex.interval(0, k)).dup());
            n = k;
          }
          c.add(ev.evaluate(ds));
          taken += n;
          done.add(n);
        }
        return Collections.singletonList(c).iterator();
      }, false);
      long start = System.nanoTime();
      JavaFutureAction<List<EvalCounts>> f = parts.collectAsync();
      long last = 0;
      List<EvalCounts> results;
      while (true) {
        try {
          results = f.get(2, TimeUnit.SECONDS);
          break;
        } catch (TimeoutException te) {
          long now = done.value();
          if (now != last) {
            last = now;
            progress.accept(String.format(Locale.ROOT, "%s: %d/%d examples (finished shards, on the executors), "
                + "%.1f examples/s", tag, now, expected, now / ((System.nanoTime() - start) / 1e9)));
          }
        }
      }
      EvalCounts total = new EvalCounts(spec.classes(), spec.eps().length, cert.plan().layers().size());
      for (EvalCounts c : results) {
        total.add(c);
      }
      double wall = (System.nanoTime() - start) / 1e9;
      progress.accept(String.format(Locale.ROOT, "%s: %d/%d examples on the executors in %.1f s, %.1f examples/s",
          tag, total.examples, expected, wall, total.examples / wall));
      total.seconds = wall;
      return total;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(tag + ": interrupted", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException(tag + ": evaluation on the executors failed: " + e.getCause().getMessage(),
          e.getCause());
    } finally {
      b.destroy();
      jsc.setJobDescription(null);
    }
  }

  static byte[] javaSerialize(Serializable o) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
        out.writeObject(o);
      }
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Object javaDeserialize(byte[] b) throws IOException, ClassNotFoundException {
    try (java.io.ObjectInputStream in = new java.io.ObjectInputStream(new ByteArrayInputStream(b))) {
      return in.readObject();
    }
  }

  static byte[] toBytes(ComputationGraph g) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ModelSerializer.writeModel(g, out, false);
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static ComputationGraph fromBytes(byte[] b) throws IOException {
    return ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(b), false);
  }

  /** Up to {@code n} of the evaluated examples, in local-iterator order. */
  private static DataSet firstExamples(EvaluateOptions o, Manifest manifest, BatchOptions opts, Configuration hconf,
      long[] shardRows, long[] quotas, int n) {
    RowFilter filter = new RowFilter(shardRows, quotas);
    ShardDataSetIterator it = ParquetDataSets.localIterator(o.data(), o.split(), opts, hconf);
    List<DataSet> parts = new ArrayList<>();
    int have = 0;
    while (it.hasNext() && have < n) {
      DataSet ds = filter.next(it.next());
      if (ds != null) {
        parts.add(ds);
        have += ds.numExamples();
      }
    }
    DataSet all = DataSet.merge(parts);
    if (all.numExamples() > n) {
      all = new DataSet(all.getFeatures().get(NDArrayIndex.interval(0, n)).dup(),
          all.getLabels().get(NDArrayIndex.interval(0, n)).dup());
    }
    return all;
  }

  // ------------------------------------------------------------------ results

  private static void sparsity(LoadedModel m, ModelResult mr) {
    PrunableModel pm = LoadedModel.prunable(m.evaluated(), null);
    mr.layerSparsity = DriverPruningControl.layerSparsity(pm);
    long zeros = 0;
    long total = 0;
    for (PrunableLayer l : pm.prunableLayers()) {
      total += l.size();
      for (float w : l.weights()) {
        zeros += w == 0f ? 1 : 0;
      }
    }
    mr.prunableWeights = total;
    mr.globalSparsity = total == 0 ? 0 : zeros / (double) total;
  }

  static final String ASSUMPTIONS = "The certificate (METHODS.md section 2, the learned 2:4 mask paper's lemmas "
      + "3.1-3.5) bounds how far the class probabilities can move when a prunable layer's weights W are replaced by "
      + "W*m: B(x) = L * ||D|| * ||h(x)||, D = -(1-m)*W, ||D|| the operator-norm bound of the perturbation "
      + "(sqrt(kh*kw) times the spectral norm of the GEMM matrix for a convolution), h(x) the measured input of the "
      + "layer, and L the Lipschitz bound of the rest of the network to the softmax probabilities (the paper's "
      + "rho^d prod_{j != i} ||W_j||; ReLU and softmax 1-Lipschitz). An example is certified when "
      + "B(x) < (p_top1 - p_top2) / sqrt(2) of the reference network. 'All layers' sums the per-layer bounds with "
      + "inputs measured in the fully masked network (telescoping, sound). Assumptions and how they were met: "
      + "batch normalization is taken in inference form (an affine map per channel) and contributes max |scale|; "
      + "residual Add vertices contribute the SUM of their branches' bounds (identity plus block), so for "
      + "residual/BN networks the bound is loose (often by orders of magnitude) and few or no examples are "
      + "certified although predictions rarely change; pooling contributes sqrt(windows per input); biases and BN "
      + "shifts cancel. Every power-iteration norm is multiplied by 1.001. The bound is for exact arithmetic: an "
      + "example whose margin exceeds the bound by less than float rounding (about 1e-6 in the probabilities) "
      + "could still flip.";

  private static void fill(ModelResult mr, EvalCounts c, EvalSpec spec, Manifest manifest, Certificate.Setup cert) {
    mr.examples = c.examples;
    mr.top1 = c.top1 / (double) c.examples;
    mr.top5 = c.topK / (double) c.examples;
    mr.topK = spec.topK();
    for (int k = 0; k < spec.classes(); k++) {
      EvaluationResult.ClassAccuracy a = new EvaluationResult.ClassAccuracy();
      a.index = k;
      a.name = k < manifest.classes.size() ? manifest.classes.get(k) : String.valueOf(k);
      a.total = c.classTotal[k];
      a.correct = c.classCorrect[k];
      a.accuracy = a.total == 0 ? Double.NaN : a.correct / (double) a.total;
      mr.perClass.add(a);
    }
    for (int e = 0; e < spec.eps().length; e++) {
      EvaluationResult.FgsmPoint p = new EvaluationResult.FgsmPoint();
      p.eps = spec.eps()[e];
      p.epsScaled = spec.scaled(e);
      p.correct = c.fgsmCorrect[e];
      p.accuracy = c.fgsmCorrect[e] / (double) c.examples;
      mr.fgsm.add(p);
    }
    Certificate.Plan plan = cert.plan();
    EvaluationResult.CertificateResult cr = mr.certificate;
    cr.mode = plan.mode();
    cr.perturbation = plan.description();
    cr.unavailable = plan.unavailable();
    cr.assumptions = ASSUMPTIONS;
    if (plan.active()) {
      double min = 1;
      for (int i = 0; i < plan.layers().size(); i++) {
        EvaluationResult.LayerCertificate l = new EvaluationResult.LayerCertificate();
        l.layer = plan.layers().get(i);
        l.perturbationNorm = plan.perturbation()[i];
        l.suffixLipschitz = plan.suffix()[i];
        l.certified = c.certifiedPerLayer[i];
        l.fraction = c.certifiedPerLayer[i] / (double) c.examples;
        min = Math.min(min, l.fraction);
        cr.layers.add(l);
      }
      cr.overallCertified = c.certifiedAll;
      cr.overallFraction = c.certifiedAll / (double) c.examples;
      cr.minLayerFraction = min;
    }
    mr.evaluationSeconds = c.seconds;
    mr.examplesPerSecond = c.seconds > 0 ? c.examples / c.seconds : 0;
  }

  private static String fgsmLine(ModelResult mr) {
    StringBuilder sb = new StringBuilder();
    for (EvaluationResult.FgsmPoint p : mr.fgsm) {
      sb.append(String.format(Locale.ROOT, "%s%.2f:%.4f", sb.length() == 0 ? "" : " ", p.eps, p.accuracy));
    }
    return sb.toString();
  }

  /**
   * Applies each perturbation for real on the sample and counts certified examples whose reference prediction
   * changed (violations of the guarantee) and changed predictions overall (how loose the bound is).
   */
  static EvaluationResult.Verification verify(Certificate.Setup cert, DataSet sample, int max, EvalSpec spec) {
    int n = Math.min(max, sample.numExamples());
    INDArray x = sample.getFeatures().get(NDArrayIndex.interval(0, n)).dup();
    Certificate.Plan plan = cert.plan();
    ComputationGraph evaluated = plan.otherIsReference() ? cert.perturbed() : cert.reference();
    boolean[][] certified = new BatchEvaluator(evaluated, cert.other(), plan, spec).certifiedPerExample(x);
    int[] ref = Nd4j.argMax(cert.reference().outputSingle(false, x), 1).toIntVector();
    EvaluationResult.Verification v = new EvaluationResult.Verification();
    v.examples = n;
    for (int i = 0; i <= plan.layers().size(); i++) {
      boolean all = i == plan.layers().size();
      if (!all && plan.perturbation()[i] == 0) {
        continue;
      }
      ComputationGraph g = all ? cert.perturbed() : withLayerMask(cert.reference(), plan.layers().get(i),
          cert.layerMasks().get(plan.layers().get(i)));
      int[] pred = Nd4j.argMax(g.outputSingle(false, x), 1).toIntVector();
      EvaluationResult.VerifiedLayer vl = new EvaluationResult.VerifiedLayer();
      vl.layer = all ? "all layers" : plan.layers().get(i);
      for (int e = 0; e < n; e++) {
        boolean changed = pred[e] != ref[e];
        vl.certified += certified[i][e] ? 1 : 0;
        vl.changed += changed ? 1 : 0;
        vl.certifiedChanged += certified[i][e] && changed ? 1 : 0;
      }
      v.violations += vl.certifiedChanged;
      v.layers.add(vl);
    }
    return v;
  }

  /** A copy of {@code g} with one layer's weights multiplied by {@code mask} (sparse layers unfrozen). */
  static ComputationGraph withLayerMask(ComputationGraph g, String layer, Mask mask) {
    ComputationGraph c = g.clone();
    Layer l = c.getLayer(layer);
    if (l instanceof SparseLayer s) {
      MaskedNetwork.of(c).unfreeze();
      float[] current = s.mask();
      float[] m = mask.toFloatArray();
      for (int j = 0; j < m.length; j++) {
        m[j] *= current[j];
      }
      s.setMask(m);
    } else {
      io.sparsetrain.jobs.train.model.GraphPrunableModel.applyTo(c, MaskSet.builder().put(layer, mask).build());
    }
    return c;
  }

  private static void speed(EvaluateOptions o, LoadedModel m, DataSet sample, ModelResult mr, String tag,
      Consumer<String> progress) {
    ComputationGraph dense = SpeedBenchmark.densified(m.evaluated());
    int n = Math.min(sample.numExamples(), 256);
    INDArray x = sample.getFeatures().get(NDArrayIndex.interval(0, n)).dup();
    INDArray a = m.evaluated().outputSingle(false, x);
    if (dense != null) {
      double[] agree = agreement(a, dense.outputSingle(false, x));
      mr.speed.agreementExamples = n;
      mr.speed.agreement = agree[0];
      mr.speed.maxProbabilityDifference = agree[1];
    } else {
      mr.speed.note = "no layer runs on compressed N:M kernels: the model as loaded is already on the dense path";
    }
    // the same two models compiled into inference plans (batch norm folded, ReLU fused, no DL4J graph); checked
    // against the graph on the sample before they are timed
    InferencePlan planLoaded = null;
    InferencePlan planDense = null;
    try {
      planLoaded = InferencePlan.compile(m.evaluated());
      planDense = dense != null ? InferencePlan.compile(dense) : null;
      double[] agree = agreement(a, planLoaded.output(x));
      mr.speed.planAgreement = agree[0];
      mr.speed.planMaxProbabilityDifference = agree[1];
      mr.speed.planSteps = planLoaded.describe();
    } catch (UnsupportedOperationException e) {
      mr.speed.planNote = "no inference plan: " + e.getMessage();
      planLoaded = null;
      planDense = null;
    }
    if (o.speedReps() > 0) {
      mr.speed.points = SpeedBenchmark.run(m.evaluated(), dense, planLoaded, planDense, x, o.speedBatches(),
          o.speedReps(), o.speedRepSeconds(), o.speedWarmupSeconds(), progress, tag);
    }
  }

  /** {fraction of rows with the same top-1, largest absolute difference} of two [examples, classes] outputs. */
  private static double[] agreement(INDArray a, INDArray b) {
    int[] pa = Nd4j.argMax(a, 1).toIntVector();
    int[] pb = Nd4j.argMax(b, 1).toIntVector();
    int same = 0;
    for (int i = 0; i < pa.length; i++) {
      same += pa[i] == pb[i] ? 1 : 0;
    }
    return new double[] {same / (double) pa.length, Transforms.abs(a.sub(b)).maxNumber().doubleValue()};
  }

}
