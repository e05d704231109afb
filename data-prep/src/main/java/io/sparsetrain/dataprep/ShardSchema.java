package io.sparsetrain.dataprep;

import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The Parquet schema of every shard (see docs/data-prep.md). Rows of a shard are sorted by {@link #RANK}.
 *
 * <pre>
 * rank        INT64   position in the split's seeded shuffle; shard = rank mod shards
 * source      STRING  record id: path relative to --input, or file#index for IDX/CIFAR
 * label       INT32   class index (0-based, classes.json / manifest "classes")
 * label_name  STRING  class name
 * height      INT32   pixels
 * width       INT32   pixels
 * channels    INT32   1 (grey) or 3 (RGB)
 * format      STRING  "raw", or the encoding of image: "png", "jpeg", "gif", "bmp", "tif"
 * image       BINARY  raw: uint8 HWC (height*width*channels bytes, RGB interleaved); else encoded bytes
 * </pre>
 */
public final class ShardSchema {
  public static final String RANK = "rank";
  public static final String SOURCE = "source";
  public static final String LABEL = "label";
  public static final String LABEL_NAME = "label_name";
  public static final String HEIGHT = "height";
  public static final String WIDTH = "width";
  public static final String CHANNELS = "channels";
  public static final String FORMAT = "format";
  public static final String IMAGE = "image";

  /** {@link #FORMAT} value of raw payloads. */
  public static final String FORMAT_RAW = "raw";

  public static final StructType SPARK_SCHEMA = new StructType(new StructField[] {
      DataTypes.createStructField(RANK, DataTypes.LongType, false),
      DataTypes.createStructField(SOURCE, DataTypes.StringType, false),
      DataTypes.createStructField(LABEL, DataTypes.IntegerType, false),
      DataTypes.createStructField(LABEL_NAME, DataTypes.StringType, false),
      DataTypes.createStructField(HEIGHT, DataTypes.IntegerType, false),
      DataTypes.createStructField(WIDTH, DataTypes.IntegerType, false),
      DataTypes.createStructField(CHANNELS, DataTypes.IntegerType, false),
      DataTypes.createStructField(FORMAT, DataTypes.StringType, false),
      DataTypes.createStructField(IMAGE, DataTypes.BinaryType, false)});

  private ShardSchema() {}
}
