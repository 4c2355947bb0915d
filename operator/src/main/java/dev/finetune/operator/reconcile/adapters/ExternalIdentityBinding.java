package dev.finetune.operator.reconcile.adapters;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Grant;
import dev.finetune.api.v1alpha1.IdentitySpec;
import dev.finetune.operator.reconcile.ports.IdentityBinding;
import java.util.List;

/**
 * FINETUNE_IAM_MODE=external: the platform team makes the IAM grants itself (Terraform, Config
 * Connector) and does not give the operator setIamPolicy rights. The operator still enforces the
 * namespace policy and annotates the job's service account; it binds and removes nothing.
 */
public final class ExternalIdentityBinding implements IdentityBinding {
  @Override
  public Outcome bind(FineTuneJob job, String ksaName, String allowedAnnotation) {
    IdentitySpec id = job.getSpec().identity;
    String who =
        id != null && id.mode == IdentitySpec.Mode.DIRECT
            ? "the job's Kubernetes identity (direct mode)"
            : id == null ? "no Google identity" : id.gcpServiceAccount;
    return new Bound(
        "ExternallyManaged",
        "service account "
            + ksaName
            + " runs as "
            + who
            + "; IAM grants are managed outside the operator (FINETUNE_IAM_MODE=external)");
  }

  @Override
  public List<Grant> grants(FineTuneJob job, String ksaName) {
    return List.of();
  }

  @Override
  public Outcome release(FineTuneJob job, List<Grant> grants) {
    return new Bound("ExternallyManaged", "nothing to remove");
  }
}
