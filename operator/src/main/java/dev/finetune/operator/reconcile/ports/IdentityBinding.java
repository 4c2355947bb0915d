package dev.finetune.operator.reconcile.ports;

import dev.finetune.api.v1alpha1.FineTuneJob;
import java.time.Duration;

/**
 * Grants the job's Kubernetes service account its Google identity (the IAM side of Workload
 * Identity), under the namespace policy, and removes the grant when the job is deleted.
 */
public interface IdentityBinding {
  /**
   * @param ksaName the job's Kubernetes service account
   * @param allowedAnnotation the namespace's finetune.dev/allowed-gcp-service-accounts value, or
   *     null
   */
  Outcome bind(FineTuneJob job, String ksaName, String allowedAnnotation);

  /** Removes what bind granted. Returns a retry delay when it could not yet. */
  Outcome release(FineTuneJob job, String ksaName);

  sealed interface Outcome {}

  record Bound(String reason, String message) implements Outcome {}

  record NotAllowed(String message) implements Outcome {}

  record Retry(String reason, String message, Duration after) implements Outcome {}

  record Failed(String reason, String message) implements Outcome {}

  record NotImplemented(String what) implements Outcome {}

  IdentityBinding NOT_IMPLEMENTED =
      new IdentityBinding() {
        @Override
        public Outcome bind(FineTuneJob job, String ksaName, String allowedAnnotation) {
          return new NotImplemented("Google IAM binding for Workload Identity");
        }

        @Override
        public Outcome release(FineTuneJob job, String ksaName) {
          return new Bound("NothingBound", "no IAM binding was made");
        }
      };
}
