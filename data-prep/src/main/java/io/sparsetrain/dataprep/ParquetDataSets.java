package io.sparsetrain.dataprep;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.nd4j.linalg.dataset.DataSet;
import scala.Tuple2;

/**
 * Reading a prepared dataset back. {@link #dataSets} gives a {@code JavaRDD<DataSet>} with one partition per
 * shard, built on the executors (each task reads its shard with {@link ShardReader}; nothing is collected to the
 * driver); {@link #localIterator} gives a DL4J iterator over the same shards without Spark (evaluation, tests).
 * The shard list, class count and image shape come from the manifest, which must exist (finished dataset).
 */
public final class ParquetDataSets {
  private ParquetDataSets() {}

  /**
   * Minibatches of one split. Batches do not span shards, so each shard ends with one partial batch unless
   * {@link BatchOptions#dropLast()}. Augmentation streams are seeded by (options seed, shard index).
   */
  public static JavaRDD<DataSet> dataSets(SparkSession spark, String datasetPath, String split, BatchOptions opts) {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Manifest m = Manifest.read(datasetPath, conf);
    int[] shape = fixedShape(m);
    List<Tuple2<Integer, String>> shards = new ArrayList<>();
    List<String> paths = m.shardPaths(split);
    for (int i = 0; i < paths.size(); i++) {
      shards.add(new Tuple2<>(i, paths.get(i)));
    }
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Broadcast<SerializableHadoopConf> bconf = jsc.broadcast(new SerializableHadoopConf(conf));
    int numClasses = m.numClasses;
    return jsc.parallelize(shards, Math.max(1, shards.size())).mapPartitions(it -> {
      List<Iterator<DataSet>> parts = new ArrayList<>();
      while (it.hasNext()) {
        Tuple2<Integer, String> s = it.next();
        ShardReader reader = ShardReader.open(s._2(), bconf.value().get());
        parts.add(new BatchAssembler(reader, opts, numClasses, shape[0], shape[1], shape[2], s._1()));
      }
      return parts.stream().flatMap(p -> {
        Iterable<DataSet> iterable = () -> p;
        return java.util.stream.StreamSupport.stream(iterable.spliterator(), false);
      }).iterator();
    });
  }

  /** The split's rows as a DataFrame (schema {@link ShardSchema}), shards listed from the manifest. */
  public static Dataset<Row> rows(SparkSession spark, String datasetPath, String split) {
    Manifest m = Manifest.read(datasetPath, spark.sparkContext().hadoopConfiguration());
    List<String> paths = m.shardPaths(split);
    if (paths.isEmpty()) {
      return spark.createDataFrame(new ArrayList<Row>(), ShardSchema.SPARK_SCHEMA);
    }
    return spark.read().schema(ShardSchema.SPARK_SCHEMA).parquet(paths.toArray(new String[0]));
  }

  /** A DL4J iterator over the split's shards in shard order, read in this JVM (no Spark). */
  public static ShardDataSetIterator localIterator(String datasetPath, String split, BatchOptions opts,
      Configuration conf) {
    Manifest m = Manifest.read(datasetPath, conf);
    return new ShardDataSetIterator(m, m.shardPaths(split), opts, conf);
  }

  /** {C, H, W} of a fixed-size dataset, or an error explaining how to get one. */
  static int[] fixedShape(Manifest m) {
    if (!m.image.isFixed()) {
      throw new DataPrepException("dataset " + PrepOptions.redact(m.datasetPath) + " has images of varying size; "
          + "batches need one size (prep with --resize HxW or --center-crop HxW)");
    }
    return new int[] {m.image.channels, m.image.height, m.image.width};
  }
}
