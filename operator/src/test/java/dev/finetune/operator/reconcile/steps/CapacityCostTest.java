package dev.finetune.operator.reconcile.steps;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.finetune.api.v1alpha1.FineTuneJobStatus.HardwareStatus;
import dev.finetune.operator.cost.PriceTable;
import dev.finetune.operator.gcp.nodepool.Accelerator;
import org.junit.jupiter.api.Test;

class CapacityCostTest {
  static HardwareStatus hw(Boolean spot, String capacity) {
    HardwareStatus hw = new HardwareStatus();
    hw.accelerator = "nvidia-h100-80gb";
    hw.count = 8;
    hw.spot = spot;
    hw.capacity = capacity;
    return hw;
  }

  @Test
  void theCostIsPricedAtTheCapacityTheTrainersNodeIs() {
    PriceTable prices = PriceTable.defaults();
    PriceTable.Price h100 = prices.price(Accelerator.NVIDIA_H100_80GB);
    double tenGpuHours = 10 * 3600.0;
    // Asked for spot, but the compute class gave a reservation: priced on-demand.
    assertThat(ObserveTrainingStep.cost(tenGpuHours, hw(true, "reservation"), prices).estimatedUsd)
        .isCloseTo(10 * h100.perGpuHour(false), within(0.01));
    assertThat(ObserveTrainingStep.cost(tenGpuHours, hw(false, "spot"), prices).estimatedUsd)
        .isCloseTo(10 * h100.perGpuHour(true), within(0.01));
    assertThat(ObserveTrainingStep.cost(tenGpuHours, hw(true, "flex-start"), prices).estimatedUsd)
        .isCloseTo(10 * h100.perGpuHour("flex-start"), within(0.01));
    // No node seen yet: as asked.
    assertThat(ObserveTrainingStep.cost(tenGpuHours, hw(true, null), prices).estimatedUsd)
        .isCloseTo(10 * h100.perGpuHour(true), within(0.01));
  }
}
