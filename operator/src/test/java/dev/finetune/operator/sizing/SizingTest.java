package dev.finetune.operator.sizing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.finetune.operator.cost.PriceTable;
import dev.finetune.operator.gcp.nodepool.Accelerator;
import java.io.InputStream;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SizingTest {

  static ModelConfig load(String name) throws Exception {
    try (InputStream in = SizingTest.class.getResourceAsStream(name)) {
      return ModelConfig.parse(in);
    }
  }

  // Published parameter counts: Llama-2-7B 6,738,415,616 (Hugging Face model card / safetensors
  // index), Mistral-7B-v0.1 7,241,732,096, Gemma-2B 2,506,172,416.
  @ParameterizedTest
  @CsvSource({
    "llama-2-7b-config.json, 6738415616",
    "mistral-7b-v0.1-config.json, 7241732096",
    "gemma-2b-config.json, 2506172416",
  })
  void paramCountFromConfig(String resource, long expected) throws Exception {
    assertThat(load(resource).paramCount()).isEqualTo(expected);
  }

  @Test
  void referenceArchitecturesMatchTheirNames() {
    long[] expected = {
      268_098_176L, 494_032_768L, 1_543_714_304L, 3_212_749_824L,
      6_738_415_616L, 13_015_864_320L, 34_388_917_248L, 70_553_706_496L
    };
    for (int i = 0; i < expected.length; i++) {
      assertThat((double) ModelSize.REFERENCES.get(i).paramCount())
          .isCloseTo(expected[i], within(expected[i] * 0.01));
    }
  }

  @ParameterizedTest
  @CsvSource({
    "7B, 7000000000",
    "1.5B, 1500000000",
    "270M, 270000000",
    "70b, 70000000000",
    "8000000000, 8000000000"
  })
  void paramHints(String hint, long expected) {
    assertThat(ModelSize.fromHint(hint).params()).isEqualTo(expected);
  }

  @Test
  void badHints() {
    assertThatThrownBy(() -> ModelSize.fromHint("seven")).hasMessageContaining("7B, 1.5B");
    assertThatThrownBy(() -> ModelSize.fromHint("5K")).hasMessageContaining("too small");
  }

  /*
   * Published measurements for Llama-2-7B, micro-batch 1, single A100:
   *  - Sebastian Raschka, "Finetuning LLMs with LoRA and QLoRA: Insights from Hundreds of
   *    Experiments" (Lightning AI blog, Oct 2023): LoRA in bf16 21.33 GB, QLoRA (NF4) 14.18 GB,
   *    measured with lit-gpt on Alpaca.
   *  - The QLoRA paper (Dettmers et al. 2023) puts the 4-bit 7B base model near 4 GB of weights,
   *    and 7B QLoRA fine-tuning is routinely run on 16 GB T4s with Hugging Face PEFT and gradient
   *    checkpointing, i.e. well under lit-gpt's figure.
   * We model Hugging Face PEFT with gradient checkpointing at 2048 tokens: LoRA must land within
   * 20% of 21.33 GB; QLoRA between 7 GB (above its weights + adapters + activations) and the
   * lit-gpt 14.18 GB + 15%. Our QLoRA figure (~8.1 GB) is well below lit-gpt's; see the report in
   * docs/gcp-permissions.md on sizing assumptions.
   */
  @Test
  void llama2_7bMatchesPublishedFigures() throws Exception {
    ModelSize llama = ModelSize.of(load("llama-2-7b-config.json"));
    MemoryEstimate lora =
        MemoryEstimator.estimate(llama, TrainingParams.of(TrainingMethod.LORA), 1);
    MemoryEstimate qlora =
        MemoryEstimator.estimate(llama, TrainingParams.of(TrainingMethod.QLORA), 1);
    assertThat(lora.totalGB()).isBetween(21.33 * 0.8, 21.33 * 1.2);
    assertThat(qlora.totalGB()).isBetween(7.0, 14.18 * 1.15);
    assertThat(lora.weightsGiB()).isCloseTo(12.55, within(0.05));
    assertThat(qlora.weightsGiB()).isBetween(3.4, 3.8);
    assertThat(lora.totalGiB() - qlora.totalGiB()).isBetween(7.0, 10.0);
  }

  @Test
  void hintOf7BIsCloseToTheRealLlama() throws Exception {
    MemoryEstimate byHint =
        MemoryEstimator.estimate(
            ModelSize.fromHint("7B"), TrainingParams.of(TrainingMethod.LORA), 1);
    MemoryEstimate byConfig =
        MemoryEstimator.estimate(
            ModelSize.of(load("llama-2-7b-config.json")),
            TrainingParams.of(TrainingMethod.LORA),
            1);
    // A bare size assumes a large (Llama 3) vocabulary, so it is a little above Llama 2's 32k one.
    assertThat(byHint.totalGiB()).isBetween(byConfig.totalGiB(), byConfig.totalGiB() * 1.25);
  }

  @Test
  void largerModelsNeverGetLessMemory() {
    for (TrainingMethod m : TrainingMethod.values()) {
      for (int gpus : new int[] {1, 2, 8}) {
        double prev = 0;
        for (long p = 100_000_000L; p <= 80_000_000_000L; p = (long) (p * 1.05)) {
          double total =
              MemoryEstimator.estimate(
                      ModelSize.fromHint(Long.toString(p)), TrainingParams.of(m), gpus)
                  .totalGiB();
          assertThat(total).as("%s %d params on %d GPUs", m, p, gpus).isGreaterThanOrEqualTo(prev);
          prev = total;
        }
      }
    }
  }

  @Test
  void longerSequencesAndBiggerBatchesNeedMore() {
    ModelSize m = ModelSize.fromHint("7B");
    double base =
        MemoryEstimator.estimate(m, new TrainingParams(TrainingMethod.LORA, 1, 2048, 16), 1)
            .totalGiB();
    assertThat(
            MemoryEstimator.estimate(m, new TrainingParams(TrainingMethod.LORA, 4, 2048, 16), 1)
                .totalGiB())
        .isGreaterThan(base);
    assertThat(
            MemoryEstimator.estimate(m, new TrainingParams(TrainingMethod.LORA, 1, 8192, 16), 1)
                .totalGiB())
        .isGreaterThan(base);
  }

  private final AcceleratorSizer sizer = new AcceleratorSizer(PriceTable.defaults());

  @ParameterizedTest(name = "{0} {1} spot={2} -> {3} x{4}")
  @CsvSource({
    "7B,   lora,  false, nvidia-l4,          1",
    "7B,   lora,  true,  nvidia-l4,          1",
    "7B,   qlora, false, nvidia-l4,          1",
    "7B,   qlora, true,  nvidia-tesla-t4,    1",
    "1.5B, lora,  false, nvidia-l4,          1",
    "13B,  lora,  false, nvidia-tesla-a100,  1",
    "13B,  qlora, false, nvidia-l4,          1",
    "70B,  qlora, false, nvidia-a100-80gb,   1",
  })
  void cheapestFit(String hint, String method, boolean spot, String accel, int count) {
    SizingDecision d =
        sizer
            .choose(ModelSize.fromHint(hint), TrainingParams.of(TrainingMethod.parse(method)), spot)
            .orElseThrow();
    assertThat(d.accelerator().id()).as(d.reason()).isEqualTo(accel);
    assertThat(d.count()).as(d.reason()).isEqualTo(count);
    assertThat(d.estimate().totalGiB() * 1.1).isLessThanOrEqualTo(d.accelerator().memoryGiB());
    assertThat(d.poolShape().machineType()).isEqualTo(d.machineType());
    assertThat(d.strategy()).as(d.reason()).isEqualTo(Strategy.DDP);
  }

  @Test
  void aModelNoSingleGpuHoldsIsShardedInsteadOfRefused() {
    // 70B in bf16 (~140 GB) fits no GPU as a replica; sharded it does (ShardedSizingTest).
    var p = TrainingParams.of(TrainingMethod.LORA);
    SizingDecision d = sizer.choose(ModelSize.fromHint("70B"), p, false).orElseThrow();
    assertThat(d.strategy()).isEqualTo(Strategy.FSDP);
    assertThat(d.count()).isEqualTo(8);
  }

  @Test
  void loraNeverPicksT4() {
    SizingDecision d =
        sizer
            .choose(ModelSize.fromHint("1B"), TrainingParams.of(TrainingMethod.LORA), false)
            .orElseThrow();
    assertThat(d.accelerator()).isNotEqualTo(Accelerator.NVIDIA_TESLA_T4);
  }

  @Test
  void reasonReadsWell() throws Exception {
    SizingDecision d =
        sizer
            .choose(ModelSize.fromHint("7B"), TrainingParams.of(TrainingMethod.LORA), true)
            .orElseThrow();
    assertThat(d.reason())
        .startsWith("7.0B params (architecture assumed), LoRA bf16 needs ~")
        .contains("GiB per GPU (weights 13.0, adapters+optimizer")
        .contains(
            "at batch 1 x 2048 tokens; cheapest fit: 1x nvidia-l4 (24 GB) on g2-standard-4 at $0.28/h spot");
  }

  @Test
  void nothingFitsGivesAMessage() {
    ModelSize huge = ModelSize.fromHint("400B");
    TrainingParams p = TrainingParams.of(TrainingMethod.LORA);
    assertThat(sizer.choose(huge, p, false)).isEmpty();
    assertThat(AcceleratorSizer.noFitMessage(huge, p))
        .contains("400.0B params")
        .contains("no accelerator");
  }

  @Test
  void pricesCanSteerTheChoice() {
    PriceTable cheapA100 =
        PriceTable.defaults()
            .withOverrides(
                Map.of(
                    "price.nvidia-tesla-a100.gpu.ondemand",
                    "0.01",
                    "nvidia-tesla-a100.vm.ondemand",
                    "0"));
    SizingDecision d =
        new AcceleratorSizer(cheapA100)
            .choose(ModelSize.fromHint("7B"), TrainingParams.of(TrainingMethod.LORA), false)
            .orElseThrow();
    assertThat(d.accelerator()).isEqualTo(Accelerator.NVIDIA_TESLA_A100);
  }
}
