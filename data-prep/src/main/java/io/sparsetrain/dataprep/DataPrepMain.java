package io.sparsetrain.dataprep;

import picocli.CommandLine;

/** Stand-alone entry point of {@code prep} (the jobs module also registers {@link PrepCommand}). */
public final class DataPrepMain {
  private DataPrepMain() {}

  public static void main(String[] args) {
    int code = new CommandLine(new PrepCommand()).execute(args);
    System.exit(code);
  }
}
