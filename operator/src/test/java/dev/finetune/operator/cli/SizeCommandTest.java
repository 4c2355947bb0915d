package dev.finetune.operator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class SizeCommandTest {

  record Result(int code, String out, String err) {}

  static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new SizeCommand());
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Result(code, out.toString(), err.toString());
  }

  @Test
  void sizesFromAParameterHint() {
    Result r = run("--model-params", "7B", "--method", "lora", "--spot");
    assertThat(r.code()).isZero();
    assertThat(r.out())
        .contains("cheapest fit: 1x nvidia-l4 (24 GB) on g2-standard-4 at $0.28/h spot")
        .contains("accelerator:   nvidia-l4")
        .contains("gpus:          1")
        .contains("machine type:  g2-standard-4")
        .contains("capacity:      spot")
        .contains("parameters:    7,000,000,000")
        .containsPattern("weights\\s+13\\.0")
        .containsPattern("total\\s+\\d+\\.\\d of 22\\.5");
  }

  @Test
  void sizesFromAConfigFile(@TempDir Path dir) throws Exception {
    Path cfg = dir.resolve("config.json");
    try (var in =
        getClass().getResourceAsStream("/dev/finetune/operator/sizing/gemma-2b-config.json")) {
      Files.copy(in, cfg);
    }
    Result r = run("--model-config", cfg.toString(), "--method", "qlora", "--seq-len", "1024");
    assertThat(r.code()).isZero();
    assertThat(r.out())
        .contains("2.5B params, QLoRA 4-bit")
        .contains("parameters:    2,506,172,416");
  }

  @Test
  void usageErrors() {
    assertThat(run().code()).isEqualTo(2);
    assertThat(run("--model-params", "7B", "--model-config", "x.json").code()).isEqualTo(2);
    Result bad = run("--model-params", "7B", "--method", "full");
    assertThat(bad.code()).isEqualTo(2);
    assertThat(bad.err()).contains("method must be lora or qlora");
  }

  @Test
  void reportsWhenNothingFits() {
    Result r = run("--model-params", "400B");
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.err()).contains("no accelerator offered has that much memory");
  }
}
