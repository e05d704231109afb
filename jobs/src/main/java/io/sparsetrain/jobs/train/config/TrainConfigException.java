package io.sparsetrain.jobs.train.config;

/** A bad job configuration: the message names the key, the bad value and, when known, where it was set. */
public final class TrainConfigException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;
  private final String key;

  public TrainConfigException(String message) {
    this(null, message);
  }

  public TrainConfigException(String message, Throwable cause) {
    super(message, cause);
    this.key = null;
  }

  public TrainConfigException(String key, String message) {
    super(message);
    this.key = key;
  }

  /** The full key ({@code train.schedule.final-sparsity}) the message is about, or null. */
  public String key() {
    return key;
  }
}
