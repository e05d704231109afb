package io.sparsetrain.dataprep;

import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * A Hadoop Configuration that can be broadcast to executors (Spark's own wrapper is private[spark]).
 * The settings are held as a plain map so that both Java serialization and Kryo (which broadcasts use
 * under sparkconf's profiles, and which skips transient fields and writeObject hooks) carry them.
 */
public final class SerializableHadoopConf implements Serializable {
  private static final long serialVersionUID = 2L;
  private final HashMap<String, String> entries = new HashMap<>();
  private transient Configuration conf;

  public SerializableHadoopConf(Configuration conf) {
    for (Map.Entry<String, String> e : conf) {
      entries.put(e.getKey(), e.getValue());
    }
    this.conf = conf;
  }

  public synchronized Configuration get() {
    if (conf == null) {
      Configuration c = new Configuration(false);
      entries.forEach(c::set);
      conf = c;
    }
    return conf;
  }
}
