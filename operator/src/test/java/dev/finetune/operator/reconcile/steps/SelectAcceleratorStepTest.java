package dev.finetune.operator.reconcile.steps;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.HardwareStatus;
import dev.finetune.api.v1alpha1.HardwareSpec;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.OperatorConfig;
import dev.finetune.operator.children.TrainerConfigMap;
import dev.finetune.operator.children.TrainerJob;
import dev.finetune.operator.cost.PriceTable;
import dev.finetune.operator.reconcile.Conditions;
import dev.finetune.operator.reconcile.JobContext;
import dev.finetune.operator.reconcile.StepResult;
import dev.finetune.operator.reconcile.adapters.AsyncWork;
import dev.finetune.operator.reconcile.adapters.ModelSizing;
import dev.finetune.operator.sizing.AcceleratorSizer;
import dev.finetune.operator.sizing.ModelConfig;
import dev.finetune.operator.sizing.ModelConfigSource;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Quantity;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The step with the real sizer: accelerator, GPU count and strategy in status, and what uses them.
 */
class SelectAcceleratorStepTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  static final ObjectMapper JSON = new ObjectMapper();

  final List<String> reads = new CopyOnWriteArrayList<>();
  final ModelConfigSource hub =
      (model, revision) -> {
        reads.add("hf://" + model);
        throw new IOException("no Hub here");
      };
  final ModelConfigSource storage =
      (uri, revision) -> {
        reads.add(uri);
        try (InputStream in =
            getClass()
                .getResourceAsStream("/dev/finetune/operator/sizing/llama-2-7b-config.json")) {
          return ModelConfig.parse(in);
        }
      };
  final ModelSizing sizing =
      new ModelSizing(
          new AcceleratorSizer(PriceTable.defaults()), hub, storage, new AsyncWork<>("t", 1));
  final SelectAcceleratorStep step = new SelectAcceleratorStep(sizing);

  @AfterEach
  void close() {
    sizing.close();
  }

  static FineTuneJob job(HardwareSpec.Accelerator accelerator, int count, String params) {
    FineTuneJob j = Fixtures.job("team", "j" + accelerator.ordinal() + "-" + count + "-" + params);
    j.getSpec().hardware.accelerator = accelerator;
    j.getSpec().hardware.count = count;
    j.getSpec().hardware.spot = false;
    j.getSpec().model.parameters = params;
    return j;
  }

  /** Runs the step until it stops waiting for config.json. */
  StepResult run(FineTuneJob job, FineTuneJobStatus status) throws InterruptedException {
    for (int i = 0; i < 200; i++) {
      StepResult r =
          step.run(
              new JobContext(job, status, null, null, OperatorConfig.defaults(), T0, Map.of()));
      if (!(r instanceof StepResult.RequeueAfter)) {
        return r;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("still sizing");
  }

  static Condition selected(FineTuneJobStatus s) {
    return Conditions.get(s, Conditions.ACCELERATOR_SELECTED).orElseThrow();
  }

  @Test
  void auto70bLoraIsShardedOverEightGpusAndTheTrainerGetsThem() throws Exception {
    FineTuneJob job = job(HardwareSpec.Accelerator.AUTO, 1, "70B");
    job.getSpec().model.source = "/models/llama-3-70b";
    FineTuneJobStatus s = new FineTuneJobStatus();
    assertThat(run(job, s)).isInstanceOf(StepResult.Proceed.class);
    HardwareStatus hw = s.hardware;
    assertThat(hw.accelerator).isEqualTo("nvidia-a100-80gb");
    assertThat(hw.count).isEqualTo(8);
    assertThat(hw.machineType).isEqualTo("a2-ultragpu-8g");
    assertThat(hw.strategy).isEqualTo("fsdp");
    assertThat(hw.reason)
        .contains("needs ~175.2 GiB on one GPU")
        .contains("sharded with FSDP over 8 x nvidia-a100-80gb it needs ~71.1 GiB per GPU")
        .contains("at batch 4 x 2048 tokens");
    assertThat(selected(s).getReason()).isEqualTo("Sized");
    assertThat(selected(s).getMessage()).startsWith("8x nvidia-a100-80gb, FSDP: ");

    // What LaunchTrainerStep builds from this status: 8 GPUs requested, fsdp in the config.
    TrainerJob.Placement placement =
        new TrainerJob.Placement(hw.accelerator, hw.count, false, null);
    var pod =
        TrainerJob.desired(job, "trainer:1", placement, 3, null, false)
            .getSpec()
            .getTemplate()
            .getSpec();
    assertThat(pod.getContainers().get(0).getResources().getLimits())
        .containsEntry(TrainerJob.GPU_RESOURCE, new Quantity("8"));
    JsonNode cfg =
        JSON.readTree(
            TrainerConfigMap.desired(job, "trainer:1", hw.accelerator, hw.count, hw.strategy)
                .getData()
                .get(TrainerConfigMap.KEY));
    assertThat(cfg.at("/hardware/count").asInt()).isEqualTo(8);
    assertThat(cfg.at("/hardware/strategy").asText()).isEqualTo("fsdp");
  }

  @Test
  void auto7bLoraStaysOneDdpGpu() throws Exception {
    FineTuneJob job = job(HardwareSpec.Accelerator.AUTO, 1, "7B");
    job.getSpec().training = new dev.finetune.api.v1alpha1.TrainingSpec();
    job.getSpec().training.batchSize = 1;
    job.getSpec().model.source = "/models/llama-2-7b";
    FineTuneJobStatus s = new FineTuneJobStatus();
    run(job, s);
    assertThat(s.hardware.accelerator).isEqualTo("nvidia-l4");
    assertThat(s.hardware.count).isEqualTo(1);
    assertThat(s.hardware.strategy).isEqualTo("ddp");
    assertThat(selected(s).getMessage()).startsWith("1x nvidia-l4: ");
  }

  @Test
  void aNamedAcceleratorThatHoldsTheModelOnlyShardedRunsFsdp() throws Exception {
    FineTuneJob job = job(HardwareSpec.Accelerator.NVIDIA_H100_80GB, 8, "70B");
    FineTuneJobStatus s = new FineTuneJobStatus();
    assertThat(run(job, s)).isInstanceOf(StepResult.Proceed.class);
    assertThat(s.hardware.accelerator).isEqualTo("nvidia-h100-80gb");
    assertThat(s.hardware.count).isEqualTo(8);
    assertThat(s.hardware.strategy).isEqualTo("fsdp");
    assertThat(s.hardware.reason)
        .startsWith("requested in spec.hardware.accelerator; 70.0B params")
        .contains("sharded with FSDP over 8 x nvidia-h100-80gb");
    assertThat(selected(s).getReason()).isEqualTo("Requested");
    assertThat(reads).as("the hint is the size; nothing is read").isEmpty();
  }

  @Test
  void aNamedAcceleratorTooSmallEvenShardedFailsNamingWhatFits() throws Exception {
    FineTuneJob job = job(HardwareSpec.Accelerator.NVIDIA_L4, 8, "70B");
    FineTuneJobStatus s = new FineTuneJobStatus();
    run(job, s);
    Condition c = selected(s);
    assertThat(c.getStatus()).isEqualTo(Conditions.FALSE);
    assertThat(c.getReason()).isEqualTo("NoAcceleratorFits");
    assertThat(c.getMessage())
        .startsWith("8 x nvidia-l4 (22.5 GiB each, 10% kept free) cannot hold 70.0B params")
        .contains("what fits: 8 x nvidia-a100-80gb with FSDP");
    assertThat(s.phase).isEqualTo(FineTuneJobStatus.Phase.Failed);
  }

  @Test
  void oneNamedGpuWithoutAHintIsNotCheckedAsBefore() throws Exception {
    FineTuneJob job = job(HardwareSpec.Accelerator.NVIDIA_L4, 1, null);
    FineTuneJobStatus s = new FineTuneJobStatus();
    run(job, s);
    assertThat(s.hardware.reason).isEqualTo("requested in spec.hardware.accelerator");
    assertThat(s.hardware.strategy).isEqualTo("ddp");
    assertThat(selected(s).getMessage())
        .isEqualTo("1x nvidia-l4: requested in spec.hardware.accelerator");
    assertThat(reads).isEmpty();
  }

  @Test
  void severalNamedGpusWithoutAHintAreCheckedAgainstConfigJson() throws Exception {
    FineTuneJob job = job(HardwareSpec.Accelerator.NVIDIA_L4, 4, null);
    job.getSpec().model.source = "gs://ft-models/llama-2-7b/";
    FineTuneJobStatus s = new FineTuneJobStatus();
    run(job, s);
    assertThat(reads).containsExactly("gs://ft-models/llama-2-7b/");
    assertThat(s.hardware.strategy).isEqualTo("fsdp");
    assertThat(s.hardware.reason)
        .contains("6.7B params, LoRA bf16")
        .contains("more than one nvidia-l4 (24 GB) holds")
        .contains("sharded with FSDP over 4 x nvidia-l4");
  }

  @Test
  void aSizeThatCannotBeReadLeavesNamedGpusAsDdpAndSaysSo() throws Exception {
    FineTuneJob job = job(HardwareSpec.Accelerator.NVIDIA_A100_80GB, 2, null);
    FineTuneJobStatus s = new FineTuneJobStatus();
    run(job, s);
    assertThat(reads).containsExactly("hf://google/gemma-3-1b-it");
    assertThat(s.hardware.strategy).isEqualTo("ddp");
    assertThat(s.hardware.count).isEqualTo(2);
    assertThat(s.hardware.reason)
        .startsWith("requested in spec.hardware.accelerator; the model size is unknown")
        .contains("no Hub here")
        .contains("set spec.model.parameters");
  }
}
