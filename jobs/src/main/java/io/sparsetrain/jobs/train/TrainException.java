package io.sparsetrain.jobs.train;

/** A training run cannot start or continue; the message names the setting and the cause. */
public final class TrainException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public TrainException(String message) {
    super(message);
  }

  public TrainException(String message, Throwable cause) {
    super(message, cause);
  }
}
