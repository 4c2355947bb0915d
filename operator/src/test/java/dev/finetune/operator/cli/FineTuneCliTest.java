package dev.finetune.operator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The jar's entry point offers the operator and the tools for people. */
class FineTuneCliTest {
  @Test
  void helpListsEveryCommand() {
    StringWriter out = new StringWriter();
    CommandLine cli = new CommandLine(new FineTuneCli());
    cli.setOut(new PrintWriter(out));
    assertThat(cli.execute("--help")).isZero();
    assertThat(out.toString())
        .contains("operator")
        .contains("validate-dataset")
        .contains("rouge")
        .contains("size");
  }

  @Test
  void sizeRunsThroughTheRootCommand() {
    StringWriter out = new StringWriter();
    CommandLine cli = new CommandLine(new FineTuneCli());
    cli.setOut(new PrintWriter(out));
    int code = cli.execute("size", "--model-params", "7B", "--method", "qlora");
    assertThat(code).isZero();
    assertThat(out.toString()).contains("nvidia-");
  }
}
