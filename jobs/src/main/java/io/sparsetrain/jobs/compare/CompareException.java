package io.sparsetrain.jobs.compare;

/** A compare run that cannot go on: bad options, a mismatching finished cell, or an unwritable output. */
public final class CompareException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public CompareException(String message) {
    super(message);
  }

  public CompareException(String message, Throwable cause) {
    super(message, cause);
  }
}
