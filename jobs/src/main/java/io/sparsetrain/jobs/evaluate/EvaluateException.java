package io.sparsetrain.jobs.evaluate;

/** A bad {@code evaluate} input (missing model, masks that do not fit, unknown split, empty data, bad option). */
public final class EvaluateException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public EvaluateException(String message) {
    super(message);
  }

  public EvaluateException(String message, Throwable cause) {
    super(message, cause);
  }
}
