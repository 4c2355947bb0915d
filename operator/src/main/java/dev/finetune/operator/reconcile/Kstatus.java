package dev.finetune.operator.reconcile;

import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Instant;
import java.util.Optional;

/**
 * kstatus (sigs.k8s.io/cli-utils/pkg/kstatus) as Flux, kpt and Argo CD read it: {@code Reconciling}
 * is True while the job works towards its end, {@code Stalled} is True when it cannot get there
 * without help (Failed, a step this build cannot do, an error retried with backoff, a cleanup that
 * is blocked), and both are False otherwise. With {@code observedGeneration} equal to the
 * generation, a Succeeded job is Current and a Failed one is Failed, never Current.
 */
public final class Kstatus {
  /** Reason of Stalled set by the error status handler. */
  public static final String RECONCILE_ERROR = "ReconcileError";

  private Kstatus() {}

  public static void apply(FineTuneJobStatus status, Long generation, Instant now) {
    Phase phase = status.phase == null ? Phase.Pending : status.phase;
    String message = status.message == null ? String.valueOf(phase) : status.message;
    Optional<Condition> ready = Conditions.get(status, Conditions.READY);
    Optional<Condition> blocked =
        Conditions.get(status, Conditions.CLEANUP_BLOCKED)
            .filter(c -> Conditions.TRUE.equals(c.getStatus()));
    if (phase == Phase.Failed) {
      String reason = ready.map(Condition::getReason).orElse("Failed");
      Conditions.set(
          status, Conditions.RECONCILING, Conditions.FALSE, "Failed", message, generation, now);
      Conditions.set(status, Conditions.STALLED, Conditions.TRUE, reason, message, generation, now);
      return;
    }
    if (phase == Phase.Succeeded) {
      Conditions.set(
          status, Conditions.RECONCILING, Conditions.FALSE, "Succeeded", message, generation, now);
      if (blocked.isPresent()) {
        Conditions.set(
            status,
            Conditions.STALLED,
            Conditions.TRUE,
            blocked.get().getReason(),
            blocked.get().getMessage(),
            generation,
            now);
      } else {
        Conditions.set(
            status, Conditions.STALLED, Conditions.FALSE, "Succeeded", message, generation, now);
      }
      return;
    }
    Conditions.set(
        status, Conditions.RECONCILING, Conditions.TRUE, phase.name(), message, generation, now);
    if (blocked.isPresent()) {
      Conditions.set(
          status,
          Conditions.STALLED,
          Conditions.TRUE,
          blocked.get().getReason(),
          blocked.get().getMessage(),
          generation,
          now);
      return;
    }
    boolean notImplemented =
        ready.map(c -> Conditions.NOT_IMPLEMENTED.equals(c.getReason())).orElse(false);
    if (notImplemented) {
      Conditions.set(
          status,
          Conditions.STALLED,
          Conditions.TRUE,
          Conditions.NOT_IMPLEMENTED,
          message,
          generation,
          now);
    } else {
      Conditions.set(
          status, Conditions.STALLED, Conditions.FALSE, phase.name(), message, generation, now);
    }
  }
}
