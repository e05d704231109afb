package io.sparsetrain.dataprep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparsetrain.sparkconf.SharedSparkSession;
import java.nio.ByteBuffer;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkEnv;
import org.apache.spark.serializer.JavaSerializer;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.Serializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import scala.reflect.ClassTag$;

/**
 * Broadcasts go through the data serializer (Kryo under sparkconf's profiles), which local mode never
 * exercises: round-trip the broadcast Hadoop configuration through both of Spark's real serializers.
 */
class SerializableHadoopConfTest {

  @ParameterizedTest
  @ValueSource(strings = {"session", "kryo", "java"})
  void settingsSurviveSparksSerializers(String which) {
    SharedSparkSession.session();
    Serializer serializer = switch (which) {
      case "session" -> SparkEnv.get().serializer();
      case "kryo" -> new KryoSerializer(SparkEnv.get().conf());
      default -> new JavaSerializer(SparkEnv.get().conf());
    };
    if (which.equals("session")) {
      assertTrue(serializer instanceof KryoSerializer, "sparkconf's profiles use Kryo: " + serializer);
    }
    Configuration conf = new Configuration(false);
    conf.set("fs.s3a.endpoint", "http://127.0.0.1:4568");
    conf.set("fs.s3a.path.style.access", "true");
    SerializerInstance si = serializer.newInstance();
    ByteBuffer bytes = si.serialize(new SerializableHadoopConf(conf), ClassTag$.MODULE$.apply(SerializableHadoopConf.class));
    SerializableHadoopConf back = si.deserialize(bytes, ClassTag$.MODULE$.apply(SerializableHadoopConf.class));
    assertEquals("http://127.0.0.1:4568", back.get().get("fs.s3a.endpoint"));
    assertEquals("true", back.get().get("fs.s3a.path.style.access"));
  }
}
