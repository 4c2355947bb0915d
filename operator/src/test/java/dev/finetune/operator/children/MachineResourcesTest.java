package dev.finetune.operator.children;

import static org.assertj.core.api.Assertions.assertThat;

import dev.finetune.operator.gcp.nodepool.Accelerator;
import dev.finetune.operator.gcp.nodepool.PoolShape;
import org.junit.jupiter.api.Test;

/** GKE's allocatable formula, and what the trainer asks for on each GPU machine. */
class MachineResourcesTest {

  @Test
  void cpuReservationFollowsGkesTiers() {
    // 6% of 1 core + 1% of 1 + 0.5% of 2 = 80m on a 4-core machine
    assertThat(MachineResources.allocatableCpuMillis(4)).isEqualTo(3920);
    // ... + 0.25% of 92 more cores = 310m on 96
    assertThat(MachineResources.allocatableCpuMillis(96)).isEqualTo(95690);
  }

  @Test
  void memoryReservationFollowsGkesTiers() {
    // 16 GiB: 1 + 0.8 + 0.8 = 2.6 GiB reserved, and 100 MiB eviction threshold
    assertThat(MachineResources.allocatableMemoryMib(16))
        .isEqualTo((long) Math.floor(13.4 * 1024) - 100);
    // 384 GiB: 2.6 + 6.72 + 5.12 = 14.44 GiB reserved
    assertThat(MachineResources.allocatableMemoryMib(384))
        .isEqualTo((long) Math.floor((384 - 14.44) * 1024) - 100);
  }

  @Test
  void ephemeralStorageLeavesTheEvictionThresholdAndTheSystemReservation() {
    // 200 GB: 20 (10%) + min(100, 76, 100) = 96 reserved
    assertThat(MachineResources.allocatableEphemeralMib(200)).isEqualTo(104 * 1024);
    // 1000 GB: 100 + 100 (capped)
    assertThat(MachineResources.allocatableEphemeralMib(1000)).isEqualTo(800 * 1024);
  }

  @Test
  void requestsFitInsideAllocatableWithRoomForDaemonSets() {
    var r = MachineResources.requests("g2-standard-4", 200, 1).orElseThrow();
    assertThat(r.cpuMillis()).isEqualTo(3300);
    assertThat(r.memoryMib()).isEqualTo(12032);
    assertThat(r.ephemeralStorageMib()).isEqualTo(50 * 1024);
    var small = MachineResources.requests("g2-standard-4", 50, 1).orElseThrow();
    // 50 GB: 5 + min(25, 23.5, 100) = 28.5 reserved, 21.5 allocatable, 10 GiB headroom
    assertThat(small.ephemeralStorageMib()).isEqualTo(11 * 1024);
  }

  @Test
  void everyMachineTypeTheOperatorCreatesIsInTheTable() {
    for (Accelerator a : Accelerator.values()) {
      for (int n : Accelerator.GPU_COUNTS) {
        if (!a.offersCount(n)) {
          continue;
        }
        String mt = PoolShape.of(a, n, true).machineType();
        assertThat(MachineResources.known(mt)).as(mt).isTrue();
        var r = MachineResources.requests(mt, 200, n).orElseThrow();
        assertThat(r.cpuMillis()).as(mt).isPositive();
        assertThat(r.memoryMib()).as(mt).isGreaterThan(8 * 1024);
      }
    }
    assertThat(MachineResources.requests("e2-standard-4", 200, 1)).isEmpty();
  }
}
