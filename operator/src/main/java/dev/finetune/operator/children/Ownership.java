package dev.finetune.operator.children;

import dev.finetune.api.v1alpha1.FineTuneJob;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import java.net.HttpURLConnection;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Which objects belong to which FineTuneJob: by the UID in the controller reference, never by name,
 * label or annotation (any of those can be copied by whoever creates an object). A trainer pod
 * belongs to a job when its controller is a Job in its own namespace whose controller is the
 * FineTuneJob.
 */
public final class Ownership {
  private static final String FTJ_KIND = "FineTuneJob";
  private static final String FTJ_GROUP = "finetune.dev/";

  private Ownership() {}

  public static Optional<OwnerReference> controller(HasMetadata o) {
    if (o == null || o.getMetadata().getOwnerReferences() == null) {
      return Optional.empty();
    }
    return o.getMetadata().getOwnerReferences().stream()
        .filter(r -> Boolean.TRUE.equals(r.getController()))
        .findFirst();
  }

  /** True when {@code child} is controlled by the FineTuneJob with {@code uid}. */
  public static boolean ownedBy(HasMetadata child, String uid) {
    return uid != null
        && controller(child)
            .filter(r -> FTJ_KIND.equals(r.getKind()) && r.getApiVersion().startsWith(FTJ_GROUP))
            .map(r -> uid.equals(r.getUid()))
            .orElse(false);
  }

  /** True when {@code pod} was created by the Job {@code job} (same namespace, Job UID). */
  public static boolean podOf(Pod pod, Job job) {
    return job != null
        && job.getMetadata().getNamespace().equals(pod.getMetadata().getNamespace())
        && controller(pod)
            .filter(r -> "Job".equals(r.getKind()) && "batch/v1".equals(r.getApiVersion()))
            .map(r -> r.getUid() != null && r.getUid().equals(job.getMetadata().getUid()))
            .orElse(false);
  }

  /**
   * The FineTuneJob a pod belongs to: through its controller Job, looked up in the pod's own
   * namespace and matched by UID. Empty for any pod that is not a trainer pod of ours.
   */
  public static Set<ResourceID> podOwner(Pod pod, Function<ResourceID, Optional<Job>> jobs) {
    String ns = pod.getMetadata().getNamespace();
    return controller(pod)
        .filter(r -> "Job".equals(r.getKind()) && "batch/v1".equals(r.getApiVersion()))
        .flatMap(r -> jobs.apply(new ResourceID(r.getName(), ns)))
        .filter(job -> podOf(pod, job))
        .flatMap(Ownership::controller)
        .filter(r -> FTJ_KIND.equals(r.getKind()) && r.getApiVersion().startsWith(FTJ_GROUP))
        .map(r -> Set.of(new ResourceID(r.getName(), ns)))
        .orElse(Set.of());
  }

  /**
   * The trainer pods of {@code primary}: those controlled by the Job of its child name that it
   * controls, in its namespace.
   */
  public static Set<ResourceID> podsOf(
      FineTuneJob primary,
      Function<ResourceID, Optional<Job>> jobs,
      BiFunction<String, Job, Stream<Pod>> podsOfJob) {
    String ns = primary.getMetadata().getNamespace();
    return jobs.apply(new ResourceID(Labels.childName(primary), ns))
        .filter(job -> ownedBy(job, primary.getMetadata().getUid()))
        .map(
            job ->
                podsOfJob
                    .apply(ns, job)
                    .map(p -> new ResourceID(p.getMetadata().getName(), ns))
                    .collect(Collectors.toUnmodifiableSet()))
        .orElse(Set.of());
  }

  /** The outcome of creating a child. */
  public sealed interface Created {}

  /** Created now, or found already created by this job (a create that raced a replica). */
  public record Ours() implements Created {}

  /** The name is taken by an object this job does not control. */
  public record NameInUse(String message) implements Created {}

  /**
   * Creates {@code desired}; a 409 is read back and accepted only when the object there is
   * controlled by {@code job} (by UID).
   */
  public static Created create(KubernetesClient client, HasMetadata desired, FineTuneJob job) {
    try {
      client.resource(desired).create();
      return new Ours();
    } catch (KubernetesClientException e) {
      if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
        throw e;
      }
    }
    HasMetadata existing = client.resource(desired).get();
    return foreign(existing, desired, job).<Created>map(NameInUse::new).orElse(new Ours());
  }

  /** A message naming {@code existing} when it is there and not controlled by {@code job}. */
  public static Optional<String> foreign(
      HasMetadata existing, HasMetadata desired, FineTuneJob job) {
    if (existing == null || ownedBy(existing, job.getMetadata().getUid())) {
      return Optional.empty();
    }
    return Optional.of(
        desired.getKind()
            + " "
            + desired.getMetadata().getNamespace()
            + "/"
            + desired.getMetadata().getName()
            + " already exists and does not belong to this FineTuneJob (uid "
            + job.getMetadata().getUid()
            + "); the operator does not adopt it. Delete or rename it, then create the"
            + " FineTuneJob again");
  }
}
