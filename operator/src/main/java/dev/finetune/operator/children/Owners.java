package dev.finetune.operator.children;

import dev.finetune.api.v1alpha1.FineTuneJob;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;

/** Owner references, so that Kubernetes garbage collection removes a job's children with it. */
public final class Owners {
  /**
   * Informational annotations on trainer pods, for people and dashboards. Never used to attribute a
   * pod to a job: any pod can carry them (see {@link Ownership}).
   */
  public static final String OWNER_NAME = "finetune.dev/owner-name";

  public static final String OWNER_NAMESPACE = "finetune.dev/owner-namespace";

  private Owners() {}

  public static OwnerReference controllerRef(FineTuneJob job) {
    return new OwnerReferenceBuilder()
        .withApiVersion(job.getApiVersion())
        .withKind(job.getKind())
        .withName(job.getMetadata().getName())
        .withUid(job.getMetadata().getUid())
        .withController(true)
        .withBlockOwnerDeletion(true)
        .build();
  }
}
