package dev.finetune.operator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** `finetune operator` checks its configuration before it connects to anything. */
class OperatorCommandTest {
  @Test
  void theOperatorRefusesToStartWithABadValue() {
    StringWriter err = new StringWriter();
    OperatorCommand command = new OperatorCommand();
    command.environment = Map.of("FINETUNE_NODE_DISK_SIZE_GB", "5");
    CommandLine operator = new CommandLine(command);
    operator.setErr(new PrintWriter(err));
    int code = operator.execute("--no-leader-election");
    assertThat(code).isEqualTo(OperatorCommand.EXIT_BAD_CONFIG);
    assertThat(err.toString())
        .contains("invalid operator configuration")
        .contains("FINETUNE_NODE_DISK_SIZE_GB=\"5\": expected a whole number from 10 to 65536");
  }
}
