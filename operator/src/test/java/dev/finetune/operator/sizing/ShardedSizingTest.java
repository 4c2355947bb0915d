package dev.finetune.operator.sizing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.finetune.operator.cost.PriceTable;
import dev.finetune.operator.gcp.nodepool.Accelerator;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** FSDP sizing for models that no single GPU holds. */
class ShardedSizingTest {

  /** Llama 3 70B's config.json (the 70B reference), read as the model's own architecture. */
  static final ModelSize LLAMA3_70B = ModelSize.of(ModelSize.REFERENCES.get(7));

  static final double GIB = 1024.0 * 1024 * 1024;

  private final AcceleratorSizer sizer = new AcceleratorSizer(PriceTable.defaults());

  /*
   * Llama 3 70B by hand: 70,553,706,496 params; embeddings + untied head 2 x 128,256 x 8,192 =
   * 2,101,346,304; one decoder layer 855,654,400 (q 67,108,864, k+v 16,777,216, o 67,108,864, MLP
   * 704,643,072, norms 16,384); LoRA r16 2,588,672 per layer x 80 = 207,093,760.
   * LoRA over 8 GPUs, micro-batch 1 x 2048 tokens:
   *   weights      2 x 70,553,706,496 / 8                             = 17,638,426,624 B
   *   gradients    (141,107,412,992 - 2 x 2,101,346,304) / 8
   *                + 2 x 855,654,400 (one layer unsharded)             = 18,824,398,848 B
   *   adapters     16 x 207,093,760 / 8                               =    414,187,520 B
   *   all-gather   2 x (2 x 855,654,400) + 2 x 2,101,346,304          =  7,625,310,208 B
   *   activations  2048 x (2 x 8192 x 80 + 12 x 128,256)              =  5,836,374,016 B
   *   overhead     10% of the above + 1 GiB CUDA + 0.5 GiB NCCL
   */
  @Test
  void shardedEstimateMatchesTheFormulaByHand() {
    MemoryEstimate e =
        MemoryEstimator.sharded(LLAMA3_70B, TrainingParams.of(TrainingMethod.LORA), 8);
    assertThat(e.strategy()).isEqualTo(Strategy.FSDP);
    assertThat(e.gpus()).isEqualTo(8);
    assertThat(e.weightsGiB() * GIB).isCloseTo(17_638_426_624.0, within(1.0));
    assertThat(e.gradientsGiB() * GIB).isCloseTo(18_824_398_848.0, within(1.0));
    assertThat(e.adaptersGiB() * GIB).isCloseTo(414_187_520.0, within(1.0));
    assertThat(e.gatheredGiB() * GIB).isCloseTo(7_625_310_208.0, within(1.0));
    assertThat(e.activationsGiB() * GIB).isCloseTo(5_836_374_016.0, within(1.0));
    double sum =
        (17_638_426_624.0 + 18_824_398_848.0 + 414_187_520 + 7_625_310_208.0 + 5_836_374_016.0)
            / GIB;
    assertThat(e.overheadGiB()).isCloseTo(0.1 * sum + 1.5, within(1e-9));
    assertThat(e.totalGiB()).isCloseTo(53.07, within(0.01));
  }

  /*
   * QLoRA over 4 GPUs: the layers in NF4 (4.127 bits), embeddings in bf16.
   *   weights      ((70,553,706,496 - 2,101,346,304) x 4.127/8 + 2 x 2,101,346,304) / 4
   *   gradients    (those bytes - 2 x 2,101,346,304) / 4 + 855,654,400 x 4.127/8
   *   all-gather   2 x 855,654,400 x 4.127/8 + 2 x 2,101,346,304
   *   activations  5,836,374,016 + 2 x 855,654,400 (one layer dequantised to bf16)
   */
  @Test
  void shardedQloraShardsTheFourBitWeights() {
    MemoryEstimate e =
        MemoryEstimator.sharded(LLAMA3_70B, TrainingParams.of(TrainingMethod.QLORA), 4);
    double nf4 = 4.127 / 8;
    double weights = (68_452_360_192.0 * nf4 + 4_202_692_608.0);
    assertThat(e.weightsGiB() * GIB).isCloseTo(weights / 4, within(1.0));
    assertThat(e.gradientsGiB() * GIB)
        .isCloseTo((weights - 4_202_692_608.0) / 4 + 855_654_400 * nf4, within(1.0));
    assertThat(e.gatheredGiB() * GIB)
        .isCloseTo(2 * 855_654_400 * nf4 + 4_202_692_608.0, within(1.0));
    assertThat(e.activationsGiB() * GIB).isCloseTo(5_836_374_016.0 + 1_711_308_800, within(1.0));
    assertThat(e.totalGiB()).isCloseTo(34.91, within(0.01));
  }

  @Test
  void moreShardsNeedLessPerGpuButNeverLessThanTheUnshardedParts() {
    TrainingParams p = TrainingParams.of(TrainingMethod.LORA);
    double prev = Double.MAX_VALUE;
    for (int n : new int[] {2, 4, 8}) {
      MemoryEstimate e = MemoryEstimator.sharded(LLAMA3_70B, p, n);
      assertThat(e.totalGiB()).isLessThan(prev);
      assertThat(e.totalGiB()).isGreaterThan(e.activationsGiB() + e.gatheredGiB());
      prev = e.totalGiB();
    }
    assertThat(MemoryEstimator.sharded(LLAMA3_70B, p, 8).activationsGiB())
        .isEqualTo(MemoryEstimator.estimate(LLAMA3_70B, p, 1).activationsGiB());
    assertThatThrownBy(() -> MemoryEstimator.sharded(LLAMA3_70B, p, 1))
        .hasMessageContaining("2 or more GPUs");
  }

  @Test
  void largerModelsNeverGetLessMemorySharded() {
    for (TrainingMethod m : TrainingMethod.values()) {
      for (int gpus : new int[] {2, 4, 8}) {
        double prev = 0;
        for (long p = 1_000_000_000L; p <= 400_000_000_000L; p = (long) (p * 1.05)) {
          double total =
              MemoryEstimator.sharded(
                      ModelSize.fromHint(Long.toString(p)), TrainingParams.of(m), gpus)
                  .totalGiB();
          assertThat(total).as("%s %d params on %d GPUs", m, p, gpus).isGreaterThanOrEqualTo(prev);
          prev = total;
        }
      }
    }
  }

  @ParameterizedTest(name = "70B lora spot={0}")
  @CsvSource({"false", "true"})
  void llama70bLoraGetsEightEightyGigabyteGpusWithFsdp(boolean spot) {
    for (ModelSize model : new ModelSize[] {ModelSize.fromHint("70B"), LLAMA3_70B}) {
      for (int batch : new int[] {1, 4}) {
        TrainingParams p = new TrainingParams(TrainingMethod.LORA, batch, 2048, 16);
        SizingDecision d = sizer.choose(model, p, spot).orElseThrow();
        assertThat(d.strategy()).as(d.reason()).isEqualTo(Strategy.FSDP);
        assertThat(d.count()).as(d.reason()).isEqualTo(8);
        // The default price table makes the A100 80GB node cheaper than the H100 one.
        assertThat(d.accelerator()).as(d.reason()).isEqualTo(Accelerator.NVIDIA_A100_80GB);
        assertThat(d.machineType()).isEqualTo("a2-ultragpu-8g");
        assertThat(d.estimate().totalGiB() * 1.1).isLessThanOrEqualTo(80.0);
        // Four of them are not enough, so eight is the least that fits.
        assertThat(MemoryEstimator.sharded(model, p, 4).totalGiB() * 1.1).isGreaterThan(80.0);
      }
    }
  }

  @Test
  void theH100WinsWhenThePriceTableSaysItIsCheaper() {
    PriceTable cheapH100 =
        PriceTable.defaults()
            .withOverrides(
                Map.of(
                    "nvidia-h100-80gb.gpu.ondemand", "1.0", "nvidia-h100-80gb.vm.ondemand", "0"));
    SizingDecision d =
        new AcceleratorSizer(cheapH100)
            .choose(ModelSize.fromHint("70B"), TrainingParams.of(TrainingMethod.LORA), false)
            .orElseThrow();
    assertThat(d.accelerator()).isEqualTo(Accelerator.NVIDIA_H100_80GB);
    assertThat(d.count()).isEqualTo(8);
    assertThat(d.strategy()).isEqualTo(Strategy.FSDP);
  }

  @Test
  void a34bLoraGetsTheCheapestShapeTheShardedEstimateFits() {
    TrainingParams p = TrainingParams.of(TrainingMethod.LORA);
    ModelSize m = ModelSize.fromHint("34B");
    SizingDecision d = sizer.choose(m, p, false).orElseThrow();
    assertThat(d.strategy()).as(d.reason()).isEqualTo(Strategy.FSDP);
    // No single GPU holds it (~79 GiB + 10% > 80 GiB) ...
    assertThat(MemoryEstimator.estimate(m, p, 1).totalGiB() * 1.1).isGreaterThan(80.0);
    // ... 4 x 80 GB do; 2 x 80 GB do not; 8 x A100 40GB would, at a higher price.
    assertThat(d.accelerator()).as(d.reason()).isEqualTo(Accelerator.NVIDIA_A100_80GB);
    assertThat(d.count()).as(d.reason()).isEqualTo(4);
    assertThat(MemoryEstimator.sharded(m, p, 2).totalGiB() * 1.1).isGreaterThan(80.0);
    assertThat(MemoryEstimator.sharded(m, p, 8).totalGiB() * 1.1).isLessThan(40.0);
    assertThat(PriceTable.defaults().hourly(Accelerator.NVIDIA_TESLA_A100, 8, false))
        .isGreaterThan(d.usdPerHour());
  }

  @Test
  void aModelOneGpuHoldsStaysOneDdpGpu() {
    SizingDecision d =
        sizer
            .choose(ModelSize.fromHint("7B"), TrainingParams.of(TrainingMethod.LORA), false)
            .orElseThrow();
    assertThat(d.strategy()).isEqualTo(Strategy.DDP);
    assertThat(d.count()).isEqualTo(1);
    assertThat(d.estimate().gradientsGiB()).isZero();
    assertThat(d.estimate().gatheredGiB()).isZero();
  }

  @Test
  void theCountAskedForIsTheLeastAutoGives() {
    SizingDecision d =
        sizer
            .choose(ModelSize.fromHint("7B"), TrainingParams.of(TrainingMethod.LORA), false, 4)
            .orElseThrow();
    assertThat(d.strategy()).isEqualTo(Strategy.DDP);
    assertThat(d.count()).isEqualTo(4);
    assertThat(d.accelerator()).isEqualTo(Accelerator.NVIDIA_L4);
  }

  @Test
  void theReasonSaysWhyInWords() {
    SizingDecision d =
        sizer
            .choose(ModelSize.fromHint("70B"), TrainingParams.of(TrainingMethod.LORA), true)
            .orElseThrow();
    assertThat(d.reason())
        .startsWith("70.0B params (architecture assumed), LoRA bf16 needs ~157.3 GiB on one GPU")
        .contains("sharded with FSDP over 8 x nvidia-a100-80gb it needs ~53.2 GiB per GPU")
        .contains("weights 16.3 (1/8), frozen-weight gradients 17.4")
        .contains("cheapest fit: 8x nvidia-a100-80gb (80 GB) on a2-ultragpu-8g at $16.16/h spot")
        .doesNotContain("QLoRA");
  }

  @Test
  void qloraIsNeverShardedBecauseTheTrainerCannotShardItsFourBitWeights() {
    // 200B in 4 bits (~100 GiB) fits no single GPU; the trainer refuses qlora with fsdp (exit 2),
    // so sizing must not hand it 8 GPUs as fsdp.
    TrainingParams q = TrainingParams.of(TrainingMethod.QLORA);
    assertThat(sizer.choose(ModelSize.fromHint("200B"), q, false)).isEmpty();
    assertThat(AcceleratorSizer.noFitMessage(ModelSize.fromHint("200B"), q))
        .contains("QLoRA is not sharded")
        .contains("Use lora");
    assertThat(sizer.check(ModelSize.fromHint("200B"), q, Accelerator.NVIDIA_H100_80GB, 8, false))
        .isEmpty();
  }

  @Test
  void aNamedAcceleratorIsDdpWhenOneGpuHoldsTheModelAndFsdpWhenOnlyAllDo() {
    TrainingParams p = TrainingParams.of(TrainingMethod.LORA);
    SizingDecision small =
        sizer
            .check(ModelSize.fromHint("7B"), p, Accelerator.NVIDIA_H100_80GB, 8, false)
            .orElseThrow();
    assertThat(small.strategy()).isEqualTo(Strategy.DDP);
    assertThat(small.reason()).contains("8 DDP replicas");
    SizingDecision big =
        sizer
            .check(ModelSize.fromHint("70B"), p, Accelerator.NVIDIA_H100_80GB, 8, false)
            .orElseThrow();
    assertThat(big.strategy()).isEqualTo(Strategy.FSDP);
    assertThat(big.count()).isEqualTo(8);
    assertThat(big.reason())
        .contains("more than one nvidia-h100-80gb (80 GB) holds")
        .contains("sharded with FSDP over 8 x nvidia-h100-80gb");
  }

  @Test
  void aNamedAcceleratorTooSmallEvenShardedIsRefusedNamingWhatFits() {
    TrainingParams p = TrainingParams.of(TrainingMethod.LORA);
    ModelSize m = ModelSize.fromHint("70B");
    assertThat(sizer.check(m, p, Accelerator.NVIDIA_L4, 8, true)).isEmpty();
    assertThat(sizer.doesNotFitMessage(m, p, Accelerator.NVIDIA_L4, 8, true))
        .startsWith("8 x nvidia-l4 (22.5 GiB each, 10% kept free) cannot hold 70.0B params")
        .contains("needs ~157.3 GiB on one GPU and ~53.2 GiB per GPU sharded with FSDP over 8")
        .endsWith("what fits: 8 x nvidia-a100-80gb with FSDP (~53.2 GiB per GPU, $16.16/h spot)");
    // One GPU: no sharding to fall back on.
    assertThat(sizer.check(m, p, Accelerator.NVIDIA_A100_80GB, 1, false)).isEmpty();
    assertThat(sizer.doesNotFitMessage(m, p, Accelerator.NVIDIA_A100_80GB, 1, false))
        .doesNotContain("sharded with FSDP over 1")
        .contains("what fits: 8 x nvidia-a100-80gb with FSDP");
    // Nothing at all.
    assertThat(
            sizer.doesNotFitMessage(
                ModelSize.fromHint("400B"), p, Accelerator.NVIDIA_H100_80GB, 8, false))
        .contains("nothing offered on one node fits; Use QLoRA");
  }

  @Test
  void nothingFitsEvenShardedSaysBothFigures() {
    String m =
        AcceleratorSizer.noFitMessage(
            ModelSize.fromHint("400B"), TrainingParams.of(TrainingMethod.LORA));
    assertThat(m)
        .contains("400.0B params, LoRA bf16 needs ~865.9 GiB per GPU as DDP replicas")
        .contains("~250.9 GiB per GPU sharded with FSDP over 8 GPUs of one node")
        .contains("no accelerator offered has that much memory");
  }
}
