package io.sparsetrain.dataprep;

/**
 * A user-facing data-prep failure: bad option, missing input, existing output, or a bad record (the message
 * names the file or record and the reason). Serializable, so it survives the trip from an executor.
 */
public class DataPrepException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public DataPrepException(String message) {
    super(message);
  }

  public DataPrepException(String message, Throwable cause) {
    super(message, cause);
  }

  /** A bad input record: {@code "<source>: <reason>"}. */
  public static DataPrepException badRecord(String split, String source, String reason) {
    return new DataPrepException("bad record " + source + " (split " + split + "): " + reason
        + " (pass --skip-bad to skip such records and list them in the manifest)");
  }
}
