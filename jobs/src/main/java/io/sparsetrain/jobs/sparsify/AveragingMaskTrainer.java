package io.sparsetrain.jobs.sparsify;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.dataset.DataSet;

/**
 * {@link MaskTrainer} as a small parameter-averaging loop on Spark: the learning graph (frozen weights) is broadcast
 * once; each round broadcasts only the trainable vector with its optimizer moments, every partition of the chunk
 * runs its minibatch steps locally ({@link WorkerObjective}) and returns its vector and moments, and the driver
 * averages them weighted by the steps taken. Weights never travel back. Workers keep their restored graph per
 * executor thread for the life of the broadcast, so a round costs one small broadcast and one small collect.
 */
public final class AveragingMaskTrainer implements MaskTrainer {

  private final JavaSparkContext sc;
  private final Broadcast<byte[]> model;
  /** The original model's zip when the objective needs a separate dense teacher (learned-nm --distill), else null. */
  private final Broadcast<byte[]> teacher;
  private final WorkerObjective objective;
  private final int workers;

  /**
   * @param learningGraphBytes the learning graph as a DL4J model zip (no updater)
   * @param teacherBytes the original model as a DL4J model zip when {@code objective} distills from it, else null
   * @param workers partitions per round (the caller partitions each chunk into this many)
   */
  AveragingMaskTrainer(JavaSparkContext sc, byte[] learningGraphBytes, byte[] teacherBytes, WorkerObjective objective,
      int workers) {
    this.sc = sc;
    this.model = sc.broadcast(learningGraphBytes);
    this.teacher = teacherBytes == null ? null : sc.broadcast(teacherBytes);
    this.objective = objective;
    this.workers = workers;
  }

  /** One partition's result (a class, not a record: Spark's Kryo cannot build records). */
  static final class WorkerResult implements Serializable {
    private static final long serialVersionUID = 1L;
    float[] vector;
    float[] m;
    float[] v;
    int steps;
    double lossSum;
    long examples;

    WorkerResult() {} // for Kryo

    WorkerResult(float[] vector, float[] m, float[] v, int steps, double lossSum, long examples) {
      this.vector = vector;
      this.m = m;
      this.v = v;
      this.steps = steps;
      this.lossSum = lossSum;
      this.examples = examples;
    }

    float[] vector() { return vector; }
    float[] m() { return m; }
    float[] v() { return v; }
    int steps() { return steps; }
    double lossSum() { return lossSum; }
    long examples() { return examples; }
  }

  private static final ThreadLocal<Map<Long, WorkerObjective.Model>> CACHE = ThreadLocal.withInitial(HashMap::new);

  @Override
  public Round round(JavaRDD<DataSet> chunk, TrainerState state) {
    Broadcast<TrainerState> start = sc.broadcast(state);
    Broadcast<byte[]> modelB = model;
    Broadcast<byte[]> teacherB = teacher;
    WorkerObjective obj = objective;
    long id = modelB.id();
    try {
      List<WorkerResult> results = chunk.mapPartitions((Iterator<DataSet> it) -> {
        List<WorkerResult> out = new ArrayList<>(1);
        if (!it.hasNext()) {
          return out.iterator();
        }
        Map<Long, WorkerObjective.Model> cache = CACHE.get();
        WorkerObjective.Model m = cache.get(id);
        if (m == null) {
          cache.clear(); // one learning graph per thread
          m = obj.load(modelB.value(), teacherB == null ? null : teacherB.value());
          cache.put(id, m);
        }
        TrainerState s = start.value().copy();
        obj.setVector(m, s.vector);
        int partition = TaskContext.get() != null ? TaskContext.get().partitionId() : 0;
        long base = s.step();
        int steps = 0;
        double lossSum = 0;
        long examples = 0;
        while (it.hasNext()) {
          DataSet batch = it.next();
          long global = base + steps;
          WorkerObjective.Step st = obj.step(m, s.vector, batch, global, global * 1_000_003L + partition);
          s.optimizer.step(s.vector, st.gradient());
          obj.clamp(s.vector, m.layers.size());
          obj.setVector(m, s.vector);
          lossSum += st.loss();
          examples += batch.numExamples();
          steps++;
        }
        out.add(new WorkerResult(s.vector, s.optimizer.m, s.optimizer.v, steps, lossSum, examples));
        return out.iterator();
      }).collect();
      return average(state, results);
    } finally {
      start.destroy();
    }
  }

  /** Step-weighted average of the workers' vectors and moments; the step counter advances by the mean steps. */
  static Round average(TrainerState state, List<WorkerResult> results) {
    int n = state.vector.length;
    if (results.isEmpty()) {
      return new Round(state.copy(), Double.NaN, 0, 0, 0);
    }
    double[] vec = new double[n];
    double[] m = new double[n];
    double[] v = new double[n];
    int steps = 0;
    double loss = 0;
    long examples = 0;
    for (WorkerResult r : results) {
      for (int i = 0; i < n; i++) {
        vec[i] += (double) r.vector()[i] * r.steps();
        m[i] += (double) r.m()[i] * r.steps();
        v[i] += (double) r.v()[i] * r.steps();
      }
      steps += r.steps();
      loss += r.lossSum();
      examples += r.examples();
    }
    float[] fv = new float[n];
    float[] fm = new float[n];
    float[] fvv = new float[n];
    for (int i = 0; i < n; i++) {
      fv[i] = (float) (vec[i] / steps);
      fm[i] = (float) (m[i] / steps);
      fvv[i] = (float) (v[i] / steps);
    }
    long advanced = Math.round(steps / (double) results.size());
    AveragedAdamW o = state.optimizer.withMoments(fm, fvv, state.optimizer.step + advanced);
    return new Round(new TrainerState(fv, o), loss / steps, examples, steps, results.size());
  }

  @Override
  public void close() {
    model.destroy();
    if (teacher != null) {
      teacher.destroy();
    }
  }
}
