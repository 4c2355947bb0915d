package dev.finetune.operator.reconcile.steps;

import static org.assertj.core.api.Assertions.assertThat;

import dev.finetune.api.v1alpha1.FineTuneJobStatus.TrainingStatus;
import dev.finetune.operator.reconcile.ports.ProgressSource.Progress;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ObserveTrainingStepTest {
  static Progress at(long step, String time) {
    return new Progress(step, 1000L, 0.5, 1.2, null, 900.0, time, null);
  }

  @Test
  void progressAndEtaFollowThePaceBetweenReports() {
    TrainingStatus t = new TrainingStatus();
    Instant now = Instant.parse("2026-01-01T00:10:00Z");
    ObserveTrainingStep.apply(t, at(100, "2026-01-01T00:00:00Z"), now);
    assertThat(t.progress).isEqualTo("10%");
    assertThat(t.eta).as("no pace yet after one report").isNull();
    // 100 steps in 100 s: the remaining 800 take 800 s.
    ObserveTrainingStep.apply(t, at(200, "2026-01-01T00:01:40Z"), now);
    assertThat(t.progress).isEqualTo("20%");
    assertThat(t.eta).isEqualTo("2026-01-01T00:15:00Z");
    // The same report again keeps the estimate.
    ObserveTrainingStep.apply(t, at(200, "2026-01-01T00:01:40Z"), now);
    assertThat(t.eta).isEqualTo("2026-01-01T00:15:00Z");
  }

  @Test
  void theEndHasNoEta() {
    TrainingStatus t = new TrainingStatus();
    ObserveTrainingStep.apply(t, at(900, "2026-01-01T00:00:00Z"), Instant.EPOCH);
    ObserveTrainingStep.apply(t, at(1000, "2026-01-01T00:01:00Z"), Instant.EPOCH);
    assertThat(t.progress).isEqualTo("100%");
    assertThat(t.eta).isNull();
  }
}
