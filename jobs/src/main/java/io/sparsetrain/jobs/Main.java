package io.sparsetrain.jobs;

import io.sparsetrain.dataprep.PrepCommand;
import io.sparsetrain.jobs.compare.CompareCommand;
import io.sparsetrain.jobs.evaluate.EvaluateCommand;
import io.sparsetrain.jobs.sparsify.SparsifyCommand;
import io.sparsetrain.jobs.throughput.ThroughputCommand;
import io.sparsetrain.jobs.train.TrainCommand;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The application jar's entry point: {@code spark-submit --class io.sparsetrain.jobs.Main app.jar <job> ...}.
 * Each job is a subcommand with its own {@code --help}.
 */
@Command(name = "sparsetrain", mixinStandardHelpOptions = true, version = "sparsetrain 0.1.0",
    description = "Sparse CNN training on Spark: data preparation, training, sparsification, evaluation.",
    subcommands = {PrepCommand.class, TrainCommand.class, EvaluateCommand.class, SparsifyCommand.class,
        CompareCommand.class, ThroughputCommand.class, SmokeJob.class})
public final class Main implements Callable<Integer> {

  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return 2;
  }

  /** Runs a job; exits with its code (0 = success) so that spark-submit and Airflow see failures. */
  public static void main(String[] args) {
    int code = run(args);
    System.exit(code);
  }

  /** Runs a job and returns its exit code; errors are printed as one clear line, not a stack dump. */
  public static int run(String... args) {
    CommandLine cli = new CommandLine(new Main());
    cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      cmd.getErr().println("sparsetrain " + cmd.getCommandName() + ": " + describe(ex));
      return 1;
    });
    return cli.execute(args);
  }

  private static String describe(Throwable ex) {
    StringBuilder sb = new StringBuilder(String.valueOf(ex.getMessage()));
    for (Throwable c = ex.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
      sb.append("\n  caused by: ").append(c.getClass().getSimpleName()).append(": ").append(c.getMessage());
    }
    return sb.toString();
  }
}
