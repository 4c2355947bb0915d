package dev.finetune.operator.reconcile.steps;

import static org.assertj.core.api.Assertions.assertThat;

import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.OperatorConfig;
import dev.finetune.operator.reconcile.Conditions;
import dev.finetune.operator.reconcile.JobContext;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class EnsureCapacityStepTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  static JobContext at(FineTuneJobStatus status, Instant now) {
    return new JobContext(
        Fixtures.job("a", "b"), status, null, null, OperatorConfig.defaults(), now);
  }

  @Test
  void backoffGrowsWithTheTimeSpentWaitingForCapacity() {
    FineTuneJobStatus status = new FineTuneJobStatus();
    assertThat(EnsureCapacityStep.attempt(at(status, T0))).isZero();
    Conditions.set(status, Conditions.CAPACITY_READY, "False", "Creating", "m", 1L, T0);
    assertThat(EnsureCapacityStep.attempt(at(status, T0.plusSeconds(600)))).isZero();
    Conditions.set(
        status, Conditions.CAPACITY_READY, "False", "WaitingForCapacity", "quota", 1L, T0);
    assertThat(EnsureCapacityStep.attempt(at(status, T0.plusSeconds(10)))).isEqualTo(1);
    assertThat(EnsureCapacityStep.attempt(at(status, T0.plusSeconds(95)))).isEqualTo(4);
    assertThat(EnsureCapacityStep.attempt(at(status, T0.plusSeconds(86_400)))).isEqualTo(20);
  }
}
