package dev.finetune.operator.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point: `finetune operator` runs the operator; the other commands are tools for people. */
@Command(
    name = "finetune",
    mixinStandardHelpOptions = true,
    version = "finetune-operator 0.1.0",
    description = "FineTune Operator: fine-tune open models on Kubernetes.",
    subcommands = {
      OperatorCommand.class,
      ValidateDatasetCommand.class,
      RougeCommand.class,
      ScoreCommand.class,
      ReportCommand.class,
      SizeCommand.class
    })
public final class FineTuneCli implements Runnable {
  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new FineTuneCli()).execute(args));
  }
}
