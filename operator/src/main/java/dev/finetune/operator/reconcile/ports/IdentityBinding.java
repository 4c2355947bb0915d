package dev.finetune.operator.reconcile.ports;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Grant;
import java.time.Duration;
import java.util.List;

/**
 * Grants the job's Kubernetes service account its Google identity (the IAM side of Workload
 * Identity), under the namespace policy, and removes exactly those grants again. The step records
 * {@link #grants} in status before {@link #bind} makes them, so a restart or a deletion at any
 * point knows what may have been granted.
 */
public interface IdentityBinding {
  /** Stops the background work of this port (the operator is shutting down). */
  default void close() {}

  /** The grants {@link #bind} makes for this job: nothing for externally managed IAM. */
  List<Grant> grants(FineTuneJob job, String ksaName);

  /**
   * @param ksaName the job's Kubernetes service account
   * @param allowedAnnotation the namespace's finetune.dev/allowed-gcp-service-accounts value, or
   *     null
   */
  Outcome bind(FineTuneJob job, String ksaName, String allowedAnnotation);

  /**
   * Removes exactly these grants (as recorded in status). Bound once none of them is left; Retry
   * while an IAM call for the job (a bind, say) is still in flight or could not be made yet.
   */
  Outcome release(FineTuneJob job, List<Grant> grants);

  sealed interface Outcome {}

  record Bound(String reason, String message) implements Outcome {}

  record NotAllowed(String message) implements Outcome {}

  record Retry(String reason, String message, Duration after) implements Outcome {}

  record Failed(String reason, String message) implements Outcome {}

  record NotImplemented(String what) implements Outcome {}

  /** Reason of a Retry that only says an IAM call of the job is still running. */
  String IN_PROGRESS = "IamInProgress";

  IdentityBinding NOT_IMPLEMENTED =
      new IdentityBinding() {
        @Override
        public List<Grant> grants(FineTuneJob job, String ksaName) {
          return List.of();
        }

        @Override
        public Outcome bind(FineTuneJob job, String ksaName, String allowedAnnotation) {
          return new NotImplemented("Google IAM binding for Workload Identity");
        }

        @Override
        public Outcome release(FineTuneJob job, List<Grant> grants) {
          return new Bound("NothingBound", "no IAM binding was made");
        }
      };
}
