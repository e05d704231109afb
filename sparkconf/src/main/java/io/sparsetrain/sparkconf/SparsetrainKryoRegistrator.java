package io.sparsetrain.sparkconf;

import com.esotericsoftware.kryo.Kryo;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * The Kryo registrator every profile sets ({@code spark.kryo.registrator}): delegates to ND4J's
 * {@code org.nd4j.kryo.Nd4jRegistrator} when nd4j-kryo is on the classpath (INDArrays hold off-heap buffers
 * that plain Kryo serializes as null), and registers nothing otherwise, so that Spark jobs without ND4J
 * start with the same profile. DL4J Spark's own start-up check round-trips an INDArray through the
 * configured serializer, which this registrator passes.
 */
public final class SparsetrainKryoRegistrator implements KryoRegistrator {
  static final String ND4J_REGISTRATOR = "org.nd4j.kryo.Nd4jRegistrator";

  @Override
  public void registerClasses(Kryo kryo) {
    Class<?> nd4j;
    try {
      nd4j = Class.forName(ND4J_REGISTRATOR, true, Thread.currentThread().getContextClassLoader() != null
          ? Thread.currentThread().getContextClassLoader() : SparsetrainKryoRegistrator.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      return; // no ND4J in this application: nothing to register
    }
    try {
      ((KryoRegistrator) nd4j.getDeclaredConstructor().newInstance()).registerClasses(kryo);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot instantiate " + ND4J_REGISTRATOR, e);
    }
  }
}
