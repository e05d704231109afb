package io.sparsetrain.jobs.sparsify;

/** A sparsify run that cannot start or finish, with a message naming the input or option at fault. */
public class SparsifyException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public SparsifyException(String message) {
    super(message);
  }

  public SparsifyException(String message, Throwable cause) {
    super(message, cause);
  }
}
