package dev.finetune.operator.capacity;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.operator.children.Labels;
import dev.finetune.operator.children.Owners;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.PodTemplate;
import io.fabric8.kubernetes.api.model.PodTemplateBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Flex-start with queued provisioning (Dynamic Workload Scheduler): a PodTemplate of the trainer
 * pod and a ProvisioningRequest (autoscaling.x-k8s.io/v1, class queued-provisioning.gke.io) that
 * asks GKE for nodes for it, both owned by the FineTuneJob. The trainer Job is created suspended
 * and unsuspended once the request is Provisioned; its pods carry the annotations that make them
 * consume the request.
 */
public final class FlexStart {
  public static final String API_VERSION = "autoscaling.x-k8s.io/v1";
  public static final String KIND = "ProvisioningRequest";
  public static final String CLASS = "queued-provisioning.gke.io";
  public static final String CONSUME_ANNOTATION =
      "autoscaling.x-k8s.io/consume-provisioning-request";
  public static final String CLASS_ANNOTATION = "autoscaling.x-k8s.io/provisioning-class-name";

  /** Label of nodes GKE created by flex-start (and queued provisioning). */
  public static final String FLEX_START_LABEL = "cloud.google.com/gke-flex-start";

  /** Taint of nodes created for queued provisioning. */
  public static final String QUEUED_TAINT = "cloud.google.com/gke-queued";

  private FlexStart() {}

  /** The request's name: the job's child name (the PodTemplate has the same name). */
  public static String name(FineTuneJob job) {
    return Labels.childName(job);
  }

  /** The PodTemplate the request points at: the trainer Job's own pod template. */
  public static PodTemplate podTemplate(FineTuneJob job, PodTemplateSpec trainerPod) {
    return new PodTemplateBuilder()
        .withMetadata(meta(job, "provisioning"))
        .withTemplate(trainerPod)
        .build();
  }

  /**
   * The request: one pod of the trainer's template, for at most {@code maxRunSeconds} (the job's
   * hardware.maxRuntime).
   */
  public static GenericKubernetesResource provisioningRequest(FineTuneJob job, long maxRunSeconds) {
    Map<String, Object> spec = new LinkedHashMap<>();
    spec.put("provisioningClassName", CLASS);
    spec.put("parameters", Map.of("maxRunDurationSeconds", Long.toString(maxRunSeconds)));
    spec.put(
        "podSets",
        List.of(
            Map.of(
                "count",
                dev.finetune.operator.children.TrainerJob.nodes(job),
                "podTemplateRef",
                Map.of("name", name(job)))));
    GenericKubernetesResource pr = new GenericKubernetesResource();
    pr.setApiVersion(API_VERSION);
    pr.setKind(KIND);
    pr.setMetadata(meta(job, "provisioning"));
    pr.setAdditionalProperty("spec", spec);
    return pr;
  }

  private static io.fabric8.kubernetes.api.model.ObjectMeta meta(
      FineTuneJob job, String component) {
    return new ObjectMetaBuilder()
        .withName(name(job))
        .withNamespace(job.getMetadata().getNamespace())
        .withLabels(Labels.forChild(job, component))
        .withOwnerReferences(Owners.controllerRef(job))
        .build();
  }

  /** Where a request stands, from its conditions. */
  public sealed interface State {}

  /** Not provisioned yet: the request's own words (Accepted, or its absence). */
  public record Waiting(String message) implements State {}

  public record Provisioned(String message) implements State {}

  /**
   * The request ended: Failed (GKE gave up), CapacityRevoked (the nodes were taken back) or
   * BookingExpired (the capacity was not used in time).
   */
  public record Ended(String condition, String message) implements State {}

  /**
   * The request's state. Failed and CapacityRevoked win over Provisioned; BookingExpired counts
   * only when {@code started} is false (once the trainer pod is on its node, the booking's end is
   * expected and harmless).
   */
  public static State state(GenericKubernetesResource pr, boolean started) {
    Map<String, Map<String, Object>> conditions = conditions(pr);
    for (String type : List.of("Failed", "CapacityRevoked")) {
      if (isTrue(conditions.get(type))) {
        return new Ended(type, message(conditions.get(type), type));
      }
    }
    if (!started && isTrue(conditions.get("BookingExpired"))) {
      return new Ended("BookingExpired", message(conditions.get("BookingExpired"), "expired"));
    }
    if (isTrue(conditions.get("Provisioned"))) {
      return new Provisioned(message(conditions.get("Provisioned"), "provisioned"));
    }
    Map<String, Object> accepted = conditions.get("Accepted");
    Map<String, Object> provisioned = conditions.get("Provisioned");
    String words =
        Optional.ofNullable(provisioned)
            .map(c -> message(c, null))
            .or(() -> Optional.ofNullable(accepted).map(c -> message(c, null)))
            .orElse(null);
    return new Waiting(
        words == null
            ? "ProvisioningRequest " + pr.getMetadata().getName() + " is not accepted yet"
            : words);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Map<String, Object>> conditions(GenericKubernetesResource pr) {
    Map<String, Map<String, Object>> out = new LinkedHashMap<>();
    Object status = pr.getAdditionalProperties().get("status");
    if (!(status instanceof Map<?, ?> s) || !(s.get("conditions") instanceof List<?> list)) {
      return out;
    }
    for (Object o : list) {
      if (o instanceof Map<?, ?> c && c.get("type") instanceof String type) {
        out.put(type, (Map<String, Object>) c);
      }
    }
    return out;
  }

  private static boolean isTrue(Map<String, Object> c) {
    return c != null && "True".equals(c.get("status"));
  }

  private static String message(Map<String, Object> c, String fallback) {
    Object m = c.get("message");
    if (m instanceof String s && !s.isBlank()) {
      return s.length() > 512 ? s.substring(0, 512) : s;
    }
    Object r = c.get("reason");
    return r instanceof String s && !s.isBlank() ? s : fallback;
  }
}
