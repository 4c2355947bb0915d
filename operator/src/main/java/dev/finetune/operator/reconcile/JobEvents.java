package dev.finetune.operator.reconcile;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Instant;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Kubernetes Events on phase changes, so `kubectl describe ftj` tells the story. */
final class JobEvents {
  private static final Logger LOG = LoggerFactory.getLogger(JobEvents.class);

  void phaseChanged(
      KubernetesClient client, FineTuneJob job, FineTuneJobStatus status, Instant now) {
    boolean failed = status.phase == FineTuneJobStatus.Phase.Failed;
    String reason =
        failed
            ? status.conditions.stream()
                .filter(c -> "False".equals(c.getStatus()) && !"Ready".equals(c.getType()))
                .map(c -> c.getReason())
                .reduce((x, y) -> y)
                .orElse("Failed")
            : String.valueOf(status.phase);
    String message = status.message == null ? String.valueOf(status.phase) : status.message;
    if (message.length() > 1000) {
      message = message.substring(0, 1000);
    }
    try {
      client
          .v1()
          .events()
          .inNamespace(job.getMetadata().getNamespace())
          .resource(
              new EventBuilder()
                  .withNewMetadata()
                  .withName(job.getMetadata().getName() + "." + UUID.randomUUID())
                  .withNamespace(job.getMetadata().getNamespace())
                  .endMetadata()
                  .withNewInvolvedObject()
                  .withApiVersion(job.getApiVersion())
                  .withKind(job.getKind())
                  .withName(job.getMetadata().getName())
                  .withNamespace(job.getMetadata().getNamespace())
                  .withUid(job.getMetadata().getUid())
                  .endInvolvedObject()
                  .withType(failed ? "Warning" : "Normal")
                  .withReason(reason)
                  .withMessage(message)
                  .withFirstTimestamp(now.toString())
                  .withLastTimestamp(now.toString())
                  .withCount(1)
                  .withNewSource()
                  .withComponent("finetune-operator")
                  .endSource()
                  .build())
          .create();
    } catch (KubernetesClientException e) {
      LOG.warn("could not record event for {}: {}", job.getMetadata().getName(), e.getMessage());
    }
  }
}
