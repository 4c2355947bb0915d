package dev.finetune.operator.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** What kstatus (Flux, kpt) computes from the conditions: InProgress, Current or Failed. */
class KstatusTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  static String c(FineTuneJobStatus s, String type) {
    return Conditions.get(s, type).map(x -> x.getStatus() + "/" + x.getReason()).orElse(null);
  }

  @Test
  void aTrainingJobIsReconcilingNotCurrent() {
    FineTuneJobStatus s = new FineTuneJobStatus();
    s.phase = Phase.Training;
    s.message = "training 40%";
    Kstatus.apply(s, 1L, T0);
    assertThat(c(s, Conditions.RECONCILING)).isEqualTo("True/Training");
    assertThat(c(s, Conditions.STALLED)).isEqualTo("False/Training");
    assertThat(Conditions.get(s, Conditions.RECONCILING).orElseThrow().getObservedGeneration())
        .isEqualTo(1L);
  }

  @Test
  void aFailedJobIsStalledWithItsReason() {
    FineTuneJobStatus s = new FineTuneJobStatus();
    Conditions.set(s, Conditions.READY, "False", "InvalidDataset", "bad line 3", 1L, T0);
    s.phase = Phase.Failed;
    s.message = "bad line 3";
    Kstatus.apply(s, 1L, T0);
    assertThat(c(s, Conditions.RECONCILING)).isEqualTo("False/Failed");
    assertThat(c(s, Conditions.STALLED)).isEqualTo("True/InvalidDataset");
  }

  @Test
  void aSucceededJobIsCurrent() {
    FineTuneJobStatus s = new FineTuneJobStatus();
    s.phase = Phase.Succeeded;
    Kstatus.apply(s, 2L, T0);
    assertThat(c(s, Conditions.RECONCILING)).isEqualTo("False/Succeeded");
    assertThat(c(s, Conditions.STALLED)).isEqualTo("False/Succeeded");
  }

  @Test
  void aBlockedCleanupStallsEvenASucceededJob() {
    FineTuneJobStatus s = new FineTuneJobStatus();
    s.phase = Phase.Succeeded;
    Conditions.set(s, Conditions.CLEANUP_BLOCKED, "True", "Transient", "IAM down", 1L, T0);
    Kstatus.apply(s, 1L, T0);
    assertThat(c(s, Conditions.STALLED)).isEqualTo("True/Transient");
  }

  @Test
  void aStepThisBuildCannotDoIsStalled() {
    FineTuneJobStatus s = new FineTuneJobStatus();
    s.phase = Phase.Validating;
    Conditions.set(s, Conditions.READY, "False", Conditions.NOT_IMPLEMENTED, "no", 1L, T0);
    Kstatus.apply(s, 1L, T0);
    assertThat(c(s, Conditions.RECONCILING)).isEqualTo("True/Validating");
    assertThat(c(s, Conditions.STALLED)).isEqualTo("True/NotImplemented");
  }
}
