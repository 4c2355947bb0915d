package dev.finetune.operator.kueue;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.net.HttpURLConnection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Reads what Kueue says about a trainer Job: the LocalQueue of spec.queue (does it exist, which
 * ClusterQueue it feeds) and the Workload Kueue made for the Job (found by Kueue's job-uid label,
 * and taken only when the Job controls it). Read only: the operator never creates, edits or admits
 * Kueue objects; Kueue unsuspends the Job itself when it admits it.
 */
public final class KueueQueues {
  public static final String GROUP = "kueue.x-k8s.io";
  public static final String VERSION = "v1beta2";

  /** Kueue's label on a Workload naming the UID of the Job it was made for. */
  public static final String JOB_UID_LABEL = "kueue.x-k8s.io/job-uid";

  static final ResourceDefinitionContext WORKLOADS = context("workloads", "Workload");
  static final ResourceDefinitionContext LOCAL_QUEUES = context("localqueues", "LocalQueue");

  private KueueQueues() {}

  /** Where Kueue has the trainer Job. */
  public enum State {
    /** The Workload waits for quota (or for Kueue to create it). */
    QUEUED,
    /** The Workload is admitted. */
    ADMITTED,
    /** spec.queue names no LocalQueue in the namespace. */
    QUEUE_NOT_FOUND,
    /** The cluster has no Kueue API (no Workload resource). */
    KUEUE_NOT_INSTALLED
  }

  /**
   * What Kueue reports.
   *
   * @param clusterQueue the ClusterQueue (from the admission, else from the LocalQueue), or null
   * @param workload the Workload's name, or null while Kueue has not made it
   * @param message Kueue's condition message on the Workload, or null
   * @param evicted whether the Workload's Evicted condition is True (preempted, or deactivated)
   */
  public record Observation(
      State state, String clusterQueue, String workload, String message, boolean evicted) {}

  /**
   * Reads the LocalQueue and the Job's Workload (two GETs).
   *
   * @param jobUid UID of the trainer Job
   */
  public static Observation observe(
      KubernetesClient client, String namespace, String queue, String jobUid) {
    Optional<GenericKubernetesResource> workload;
    try {
      workload =
          client
              .genericKubernetesResources(WORKLOADS)
              .inNamespace(namespace)
              .withLabel(JOB_UID_LABEL, jobUid)
              .list()
              .getItems()
              .stream()
              .filter(w -> ownedBy(w, jobUid))
              .max(Comparator.comparing(w -> w.getMetadata().getCreationTimestamp()));
    } catch (KubernetesClientException e) {
      if (e.getCode() == HttpURLConnection.HTTP_NOT_FOUND) {
        return new Observation(State.KUEUE_NOT_INSTALLED, null, null, null, false);
      }
      throw e;
    }
    GenericKubernetesResource lq =
        client
            .genericKubernetesResources(LOCAL_QUEUES)
            .inNamespace(namespace)
            .withName(queue)
            .get();
    String clusterQueue =
        workload
            .map(w -> string(w, "status", "admission", "clusterQueue"))
            .orElse(lq == null ? null : string(lq, "spec", "clusterQueue"));
    String name = workload.map(w -> w.getMetadata().getName()).orElse(null);
    boolean admitted = workload.map(w -> isTrue(w, "Admitted")).orElse(false);
    boolean evicted = workload.map(w -> isTrue(w, "Evicted")).orElse(false);
    String message = workload.map(KueueQueues::message).orElse(null);
    if (lq == null && !admitted) {
      return new Observation(State.QUEUE_NOT_FOUND, clusterQueue, name, message, evicted);
    }
    return new Observation(
        admitted ? State.ADMITTED : State.QUEUED, clusterQueue, name, message, evicted);
  }

  /**
   * Kueue's most telling words: why it was evicted, else why quota is not reserved, else the
   * admission.
   */
  static String message(GenericKubernetesResource w) {
    List<Map<String, Object>> conditions = conditions(w);
    for (String[] pick :
        new String[][] {
          {"Evicted", "True"}, {"QuotaReserved", "False"}, {"Admitted", "True"}, {"Admitted", null}
        }) {
      for (Map<String, Object> c : conditions) {
        if (pick[0].equals(c.get("type"))
            && (pick[1] == null || pick[1].equals(c.get("status")))
            && c.get("message") instanceof String m
            && !m.isBlank()) {
          return m.length() > 512 ? m.substring(0, 512) : m;
        }
      }
    }
    return null;
  }

  static boolean isTrue(GenericKubernetesResource w, String type) {
    return conditions(w).stream()
        .anyMatch(c -> type.equals(c.get("type")) && "True".equals(c.get("status")));
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> conditions(GenericKubernetesResource w) {
    Object status = w.getAdditionalProperties().get("status");
    if (status instanceof Map<?, ?> s && s.get("conditions") instanceof List<?> l) {
      return l.stream().filter(Map.class::isInstance).map(m -> (Map<String, Object>) m).toList();
    }
    return List.of();
  }

  private static String string(GenericKubernetesResource r, String... path) {
    Object at = r.getAdditionalProperties();
    for (String p : path) {
      if (!(at instanceof Map<?, ?> m)) {
        return null;
      }
      at = m.get(p);
    }
    return at instanceof String s ? s : null;
  }

  private static boolean ownedBy(GenericKubernetesResource w, String uid) {
    return w.getMetadata().getOwnerReferences() != null
        && w.getMetadata().getOwnerReferences().stream()
            .anyMatch(o -> Objects.equals(o.getUid(), uid));
  }

  private static ResourceDefinitionContext context(String plural, String kind) {
    return new ResourceDefinitionContext.Builder()
        .withGroup(GROUP)
        .withVersion(VERSION)
        .withPlural(plural)
        .withKind(kind)
        .withNamespaced(true)
        .build();
  }
}
