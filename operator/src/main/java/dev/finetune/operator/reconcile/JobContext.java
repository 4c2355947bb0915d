package dev.finetune.operator.reconcile;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import dev.finetune.operator.OperatorConfig;
import dev.finetune.operator.children.Ownership;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What a step sees: the job, the status being built (a copy; the reconciler patches it when it
 * changed), the cluster and the clock.
 */
public final class JobContext {
  private final FineTuneJob job;
  private final FineTuneJobStatus status;
  private final Context<FineTuneJob> josdk;
  private final KubernetesClient client;
  private final OperatorConfig config;
  private final Instant now;
  private Map<String, String> namespaceAnnotations;
  private java.util.function.Function<String, Namespace> namespaceCache = name -> null;

  public JobContext(
      FineTuneJob job,
      FineTuneJobStatus status,
      Context<FineTuneJob> josdk,
      KubernetesClient client,
      OperatorConfig config,
      Instant now) {
    this.job = job;
    this.status = status;
    this.josdk = josdk;
    this.client = client;
    this.config = config;
    this.now = now;
  }

  /** A context that looks the job's Namespace up in a cache first (null: not there). */
  public JobContext(
      FineTuneJob job,
      FineTuneJobStatus status,
      Context<FineTuneJob> josdk,
      KubernetesClient client,
      OperatorConfig config,
      Instant now,
      java.util.function.Function<String, Namespace> namespaceCache) {
    this(job, status, josdk, client, config, now);
    this.namespaceCache = namespaceCache;
  }

  /** A context whose Namespace annotations are given rather than read (tests, tools). */
  public JobContext(
      FineTuneJob job,
      FineTuneJobStatus status,
      Context<FineTuneJob> josdk,
      KubernetesClient client,
      OperatorConfig config,
      Instant now,
      Map<String, String> namespaceAnnotations) {
    this(job, status, josdk, client, config, now);
    this.namespaceAnnotations = Map.copyOf(namespaceAnnotations);
  }

  public FineTuneJob job() {
    return job;
  }

  public FineTuneJobStatus status() {
    return status;
  }

  public KubernetesClient client() {
    return client;
  }

  public OperatorConfig config() {
    return config;
  }

  public Instant now() {
    return now;
  }

  public Long generation() {
    return job.getMetadata().getGeneration();
  }

  /**
   * The secondary of {@code type} that belongs to this job by UID (see {@link Ownership}); an
   * object that merely carries the child's name or labels is not it.
   */
  public <R extends HasMetadata> Optional<R> secondary(Class<R> type) {
    return secondaries(type).stream().findFirst();
  }

  /**
   * The secondaries of {@code type} that belong to this job: children controlled by its UID, and
   * for pods those controlled by that child Job's UID in the job's namespace.
   */
  public <R extends HasMetadata> Set<R> secondaries(Class<R> type) {
    if (josdk == null) {
      return Set.of();
    }
    String uid = job.getMetadata().getUid();
    if (type == Pod.class) {
      Optional<Job> trainer = secondary(Job.class);
      if (trainer.isEmpty()) {
        return Set.of();
      }
      return josdk.getSecondaryResources(type).stream()
          .filter(p -> Ownership.podOf((Pod) p, trainer.get()))
          .collect(Collectors.toUnmodifiableSet());
    }
    return josdk.getSecondaryResources(type).stream()
        .filter(o -> Ownership.ownedBy(o, uid))
        .filter(o -> job.getMetadata().getNamespace().equals(o.getMetadata().getNamespace()))
        .collect(Collectors.toUnmodifiableSet());
  }

  /** The annotations of the job's Namespace (read once per reconcile), empty when it has none. */
  public Map<String, String> namespaceAnnotations() {
    if (namespaceAnnotations == null) {
      String name = job.getMetadata().getNamespace();
      Namespace ns = namespaceCache.apply(name);
      if (ns == null) {
        ns = client.namespaces().withName(name).get();
      }
      namespaceAnnotations =
          ns == null || ns.getMetadata().getAnnotations() == null
              ? Map.of()
              : Map.copyOf(ns.getMetadata().getAnnotations());
    }
    return namespaceAnnotations;
  }

  public void condition(String type, String value, String reason, String message) {
    Conditions.set(status, type, value, reason, message, generation(), now);
  }

  public void phase(FineTuneJobStatus.Phase phase, String message) {
    status.phase = phase;
    status.message = message;
    if (phase.terminal() && status.completionTime == null) {
      status.completionTime = now.toString();
    }
  }

  /** Fails the job: phase Failed, Ready=False with the reason, and the message. */
  public StepResult fail(String conditionType, String reason, String message) {
    if (conditionType != null) {
      condition(conditionType, Conditions.FALSE, reason, message);
    }
    condition(Conditions.READY, Conditions.FALSE, reason, message);
    phase(FineTuneJobStatus.Phase.Failed, message);
    return StepResult.done();
  }

  /**
   * Marks a step as not built yet: the condition says so plainly and the job waits. Nothing is
   * reported as done that was not done.
   */
  public StepResult notImplemented(String conditionType, String what) {
    String message =
        what + " is not implemented in this build of the operator; the job waits here.";
    condition(conditionType, Conditions.UNKNOWN, Conditions.NOT_IMPLEMENTED, message);
    condition(Conditions.READY, Conditions.FALSE, Conditions.NOT_IMPLEMENTED, message);
    status.message = message;
    return StepResult.requeueAfter(java.time.Duration.ofMinutes(5));
  }
}
