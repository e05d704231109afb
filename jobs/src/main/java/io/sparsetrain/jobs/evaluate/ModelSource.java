package io.sparsetrain.jobs.evaluate;

import java.util.regex.Pattern;

/**
 * One model to evaluate, as given on the command line: a train run's checkpoint directory ({@code --checkpoint}) or
 * a DL4J model zip ({@code --model}, optionally with a {@code --masks} file), with an optional label
 * ({@code dense=/path/model.zip}).
 *
 * @param label the label, or null for the default (run name and checkpoint, or the zip's file name)
 */
public record ModelSource(Kind kind, String label, String path, String masks) {

  /** Where a model comes from. */
  public enum Kind {
    CHECKPOINT,
    MODEL
  }

  private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9_.+-]+");

  public ModelSource {
    if (path == null || path.isBlank()) {
      throw new EvaluateException("empty path for " + (kind == Kind.CHECKPOINT ? "--checkpoint" : "--model"));
    }
    if (masks != null && kind != Kind.MODEL) {
      throw new EvaluateException("--masks " + masks + " belongs to a --model; a checkpoint carries its own masks");
    }
  }

  /** Parses {@code [LABEL=]PATH}; a prefix is a label when it is made of letters, digits and {@code _.+-}. */
  public static ModelSource parse(Kind kind, String text) {
    int eq = text.indexOf('=');
    if (eq > 0 && LABEL.matcher(text.substring(0, eq)).matches()) {
      return new ModelSource(kind, text.substring(0, eq), text.substring(eq + 1), null);
    }
    return new ModelSource(kind, null, text, null);
  }

  public ModelSource withMasks(String masksPath) {
    return new ModelSource(kind, label, path, masksPath);
  }

  public ModelSource withLabel(String newLabel) {
    return new ModelSource(kind, newLabel, path, masks);
  }

  @Override
  public String toString() {
    return (kind == Kind.CHECKPOINT ? "--checkpoint " : "--model ") + (label == null ? "" : label + "=")
        + EvaluateOptions.redact(path) + (masks == null ? "" : " --masks " + EvaluateOptions.redact(masks));
  }
}
