package dev.finetune.operator.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.operator.reconcile.ports.IdentityBinding;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class JobEventsTest {
  static FineTuneJobStatus identity(Phase phase, String reason) {
    FineTuneJobStatus s = new FineTuneJobStatus();
    s.phase = phase;
    Conditions.set(s, Conditions.IDENTITY_BOUND, Conditions.FALSE, reason, "m", 1L, Instant.EPOCH);
    return s;
  }

  @Test
  void anIamCallInFlightIsNotAWait() {
    assertThat(JobEvents.waitOf(identity(Phase.Provisioning, IdentityBinding.IN_PROGRESS)))
        .isEmpty();
    assertThat(JobEvents.waitOf(identity(Phase.Provisioning, "Granting"))).isEmpty();
  }

  @Test
  void grantsReleasedAfterTrainingAreNotAWait() {
    assertThat(JobEvents.waitOf(identity(Phase.Evaluating, "Released"))).isEmpty();
  }

  @Test
  void anIamRetryWhileProvisioningIsAWait() {
    assertThat(JobEvents.waitOf(identity(Phase.Provisioning, "IamUnavailable")))
        .get()
        .extracting(JobEvents.Wait::kind)
        .isEqualTo("iam");
  }
}
