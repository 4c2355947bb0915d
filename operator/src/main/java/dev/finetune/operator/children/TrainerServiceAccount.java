package dev.finetune.operator.children;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.IdentitySpec;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import java.util.Map;

/** The per-job Kubernetes service account the trainer runs as. */
public final class TrainerServiceAccount {
  /** GKE's Workload Identity annotation. */
  public static final String GCP_SA_ANNOTATION = "iam.gke.io/gcp-service-account";

  private TrainerServiceAccount() {}

  public static ServiceAccount desired(FineTuneJob job) {
    IdentitySpec identity = job.getSpec().identity;
    Map<String, String> annotations =
        identity != null
                && identity.mode != IdentitySpec.Mode.DIRECT
                && identity.gcpServiceAccount != null
            ? Map.of(GCP_SA_ANNOTATION, identity.gcpServiceAccount)
            : Map.of();
    return new ServiceAccountBuilder()
        .withNewMetadata()
        .withName(Labels.childName(job))
        .withNamespace(job.getMetadata().getNamespace())
        .withLabels(Labels.forChild(job, "trainer"))
        .withAnnotations(annotations)
        .withOwnerReferences(Owners.controllerRef(job))
        .endMetadata()
        .withAutomountServiceAccountToken(false)
        .build();
  }
}
