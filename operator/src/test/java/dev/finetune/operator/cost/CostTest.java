package dev.finetune.operator.cost;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.finetune.operator.cost.CostCalculator.PodInterval;
import dev.finetune.operator.gcp.nodepool.Accelerator;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CostTest {

  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @Test
  void defaultsPriceL4NodeNear71Cents() {
    assertThat(PriceTable.defaults().hourly(Accelerator.NVIDIA_L4, 1, false))
        .isCloseTo(0.71, within(0.001));
    assertThat(PriceTable.defaults().hourly(Accelerator.NVIDIA_L4, 4, true))
        .isCloseTo(1.12, within(0.001));
    for (Accelerator a : Accelerator.values()) {
      PriceTable.Price p = PriceTable.defaults().price(a);
      assertThat(p.perGpuHour(true)).as(a.id()).isLessThan(p.perGpuHour(false));
    }
  }

  @Test
  void flexStartIsPricedBetweenSpotAndOnDemandAndReservationsAsOnDemand() {
    for (Accelerator a : Accelerator.values()) {
      PriceTable.Price p = PriceTable.defaults().price(a);
      assertThat(p.perGpuHour("flex-start"))
          .as(a.id())
          .isCloseTo(p.perGpuHour(false) * PriceTable.FLEX_START_FACTOR, within(0.001))
          .isLessThan(p.perGpuHour("on-demand"));
      assertThat(p.perGpuHour("spot")).isEqualTo(p.perGpuHour(true));
      assertThat(p.perGpuHour("reservation")).isEqualTo(p.perGpuHour(false));
    }
    PriceTable t =
        PriceTable.defaults()
            .withOverrides(
                Map.of("nvidia-l4.gpu.flexstart", "0.3", "nvidia-l4.vm.flexstart", "0.1"));
    assertThat(t.price(Accelerator.NVIDIA_L4).perGpuHour("flex-start"))
        .isCloseTo(0.4, within(1e-9));
  }

  @Test
  void overridesReplaceSelectedPrices() {
    PriceTable t =
        PriceTable.defaults()
            .withOverrides(
                Map.of(
                    "price.nvidia-l4.gpu.spot", "0.5",
                    "nvidia-l4.vm.spot", "0.1",
                    "unrelated", "x",
                    "price.nvidia-v100.gpu.spot", "1"));
    assertThat(t.hourly(Accelerator.NVIDIA_L4, 2, true)).isCloseTo(1.2, within(1e-9));
    assertThat(t.hourly(Accelerator.NVIDIA_L4, 1, false)).isCloseTo(0.71, within(1e-9));
    assertThatThrownBy(
            () -> PriceTable.defaults().withOverrides(Map.of("nvidia-l4.gpu.spot", "cheap")))
        .hasMessageContaining("not a number");
    assertThatThrownBy(
            () -> PriceTable.defaults().withOverrides(Map.of("nvidia-l4.gpu.spot", "-1")))
        .hasMessageContaining(">= 0");
  }

  @Test
  void gpuHoursAndCostFromPodIntervals() {
    List<PodInterval> pods =
        List.of(
            // preempted after 30 minutes on a 2-GPU node
            new PodInterval("job-0-a", T0, T0.plusSeconds(1800), 2),
            // retried for 90 minutes
            new PodInterval("job-0-b", T0.plusSeconds(2000), T0.plusSeconds(2000 + 5400), 2),
            // still running: 1 hour so far
            new PodInterval("job-0-c", T0.plusSeconds(7400), null, 2),
            // clock skew: counts as zero
            new PodInterval("job-0-d", T0.plusSeconds(100), T0, 2));
    CostCalculator.CostReport r =
        CostCalculator.compute(
            pods, Accelerator.NVIDIA_L4, true, PriceTable.defaults(), T0.plusSeconds(7400 + 3600));
    assertThat(r.gpuHours()).isCloseTo(2 * (0.5 + 1.5 + 1.0), within(1e-9));
    assertThat(r.usd()).isCloseTo(6.0 * 0.28, within(1e-9));
  }
}
