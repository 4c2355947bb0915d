package dev.finetune.operator.gcp.nodepool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class PoolShapeTest {

  @Test
  void namesAreDeterministicAndShort() {
    for (Accelerator a : Accelerator.values()) {
      for (int n : Accelerator.GPU_COUNTS) {
        if (!a.offersCount(n)) {
          continue;
        }
        PoolShape s = PoolShape.of(a, n, true);
        assertThat(s.poolName()).hasSizeLessThanOrEqualTo(40).matches("[a-z][a-z0-9-]*[a-z0-9]");
        assertThat(PoolShape.fromLabelValue(s.labelValue())).isEqualTo(s);
      }
    }
    assertThat(new PoolShape("nvidia-l4", 1, true).poolName()).isEqualTo("ft-l4-x1-spot");
    assertThat(new PoolShape("NVIDIA-A100-80GB", 2, false).poolName()).isEqualTo("ft-a100-80-x2");
  }

  @Test
  void rejectsCombinationsGkeDoesNotOffer() {
    assertThatThrownBy(() -> new PoolShape("nvidia-tesla-t4", 8, false))
        .hasMessageContaining("GKE does not offer nvidia-tesla-t4 with 8 GPUs")
        .hasMessageContaining("[1, 2, 4]");
    assertThatThrownBy(() -> new PoolShape("nvidia-l4", 3, false))
        .hasMessageContaining("[1, 2, 4, 8]");
    assertThatThrownBy(() -> new PoolShape("nvidia-h100-80gb", 1, false))
        .hasMessageContaining("only as Spot");
    assertThatThrownBy(() -> new PoolShape("nvidia-v100", 1, false))
        .hasMessageContaining("unsupported accelerator \"nvidia-v100\"");
  }

  @Test
  void backoffIsExponentialAndCapped() {
    Duration base = Duration.ofSeconds(10);
    Duration cap = Duration.ofMinutes(5);
    assertThat(Backoff.delay(0, base, cap)).isEqualTo(Duration.ofSeconds(10));
    assertThat(Backoff.delay(1, base, cap)).isEqualTo(Duration.ofSeconds(20));
    assertThat(Backoff.delay(4, base, cap)).isEqualTo(Duration.ofSeconds(160));
    assertThat(Backoff.delay(5, base, cap)).isEqualTo(cap);
    assertThat(Backoff.delay(1000, base, cap)).isEqualTo(cap);
    assertThat(Backoff.delay(-1, base, cap)).isEqualTo(base);
  }
}
