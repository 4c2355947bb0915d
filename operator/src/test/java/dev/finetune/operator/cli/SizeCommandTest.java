package dev.finetune.operator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
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
        .contains("strategy:      ddp (one GPU holds the whole model)")
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

  @Test
  void a70bLoraIsShardedOverEightEightyGigabyteGpus() {
    Result r = run("--model-params", "70B", "--method", "lora");
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("LoRA bf16 needs ~157.3 GiB on one GPU")
        .contains("sharded with FSDP over 8 x nvidia-a100-80gb it needs ~53.2 GiB per GPU")
        .contains("accelerator:   nvidia-a100-80gb")
        .contains("gpus:          8")
        .contains("strategy:      fsdp (weights, gradients and optimizer sharded over the 8 GPUs)")
        .contains("machine type:  a2-ultragpu-8g")
        .containsPattern("weights\\s+16\\.3\\s+\\(1/8 of the model\\)")
        .containsPattern("frozen-weight grads\\s+17\\.4")
        .containsPattern("all-gather buffers\\s+7\\.1")
        .containsPattern("total\\s+53\\.2 of 80\\.0")
        .containsPattern("on one GPU\\s+157\\.3 \\(as a DDP replica\\)");
  }

  /** The rows a user compares: what each size gets with LoRA on demand. */
  @ParameterizedTest(name = "{0} lora -> {2} x {1} {3}")
  @CsvSource({
    "70B, nvidia-a100-80gb,  8, fsdp",
    "34B, nvidia-a100-80gb,  4, fsdp",
    "13B, nvidia-tesla-a100, 1, ddp",
    "7B,  nvidia-l4,         1, ddp",
  })
  void sizesOfCommonModels(String params, String accelerator, int gpus, String strategy) {
    Result r = run("--model-params", params, "--method", "lora");
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("accelerator:   " + accelerator + "\n")
        .contains("gpus:          " + gpus + "\n")
        .contains("strategy:      " + strategy + " ");
  }

  @Test
  void aNamedAcceleratorIsCheckedAndRefusedNamingWhatFits() {
    Result ok = run("--model-params", "70B", "--accelerator", "nvidia-h100-80gb", "--gpus", "8");
    assertThat(ok.code()).as(ok.err()).isZero();
    assertThat(ok.out())
        .contains("accelerator:   nvidia-h100-80gb")
        .contains("gpus:          8")
        .contains("strategy:      fsdp");
    Result no = run("--model-params", "70B", "--accelerator", "nvidia-l4", "--gpus", "8");
    assertThat(no.code()).isEqualTo(1);
    assertThat(no.err())
        .contains("8 x nvidia-l4 (22.5 GiB each, 10% kept free) cannot hold 70.0B params")
        .contains("what fits: 8 x nvidia-a100-80gb with FSDP");
    Result bad = run("--model-params", "7B", "--gpus", "3");
    assertThat(bad.code()).isEqualTo(2);
    assertThat(bad.err()).contains("--gpus must be 1, 2, 4 or 8, not 3");
    Result unknown = run("--model-params", "7B", "--accelerator", "tpu-v5");
    assertThat(unknown.code()).isEqualTo(2);
    assertThat(unknown.err()).contains("unsupported accelerator \"tpu-v5\"");
  }
}
