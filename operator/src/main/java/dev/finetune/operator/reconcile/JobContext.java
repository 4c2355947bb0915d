package dev.finetune.operator.reconcile;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import dev.finetune.operator.OperatorConfig;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;

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

  public <R extends HasMetadata> Optional<R> secondary(Class<R> type) {
    return josdk == null ? Optional.empty() : josdk.getSecondaryResource(type);
  }

  public <R extends HasMetadata> Set<R> secondaries(Class<R> type) {
    return josdk == null ? Set.of() : josdk.getSecondaryResources(type);
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
