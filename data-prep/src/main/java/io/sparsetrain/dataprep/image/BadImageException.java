package io.sparsetrain.dataprep.image;

/** An image that cannot be used (not an image, corrupt, truncated), with the reason in the message. */
public final class BadImageException extends Exception {
  private static final long serialVersionUID = 1L;

  public BadImageException(String reason) {
    super(reason);
  }

  public BadImageException(String reason, Throwable cause) {
    super(reason, cause);
  }
}
