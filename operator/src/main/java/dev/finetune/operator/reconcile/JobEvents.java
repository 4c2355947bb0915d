package dev.finetune.operator.reconcile;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.HttpURLConnection;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kubernetes Events on phase changes, so `kubectl describe ftj` tells the story. An Event is named
 * after the job's UID and what it records, so recording it again (after a crash between the Event
 * and the status write) finds it there: one Event per phase change. An Event that cannot be
 * recorded fails the reconcile before its status is written, so it is recorded on the retry.
 */
final class JobEvents {
  private static final Logger LOG = LoggerFactory.getLogger(JobEvents.class);

  /** A phase the job entered in a reconcile, with the message and reason at that moment. */
  record PhaseChange(Phase phase, String message, String reason) {}

  void phaseChanged(KubernetesClient client, FineTuneJob job, PhaseChange change, Instant now) {
    boolean failed = change.phase() == Phase.Failed;
    record(
        client,
        job,
        String.valueOf(change.phase()).toLowerCase(Locale.ROOT),
        failed ? "Warning" : "Normal",
        change.reason(),
        change.message() == null ? String.valueOf(change.phase()) : change.message(),
        now);
  }

  /** A Warning when CleanupBlocked turns True or changes its reason, and when it is skipped. */
  void cleanupBlocked(
      KubernetesClient client,
      FineTuneJob job,
      FineTuneJobStatus before,
      FineTuneJobStatus after,
      Instant now) {
    Optional<Condition> was = Conditions.get(before, Conditions.CLEANUP_BLOCKED);
    Optional<Condition> is = Conditions.get(after, Conditions.CLEANUP_BLOCKED);
    if (is.isEmpty()) {
      return;
    }
    Condition c = is.get();
    boolean changed =
        was.isEmpty()
            || !Objects.equals(was.get().getStatus(), c.getStatus())
            || !Objects.equals(was.get().getReason(), c.getReason());
    boolean tell = Conditions.TRUE.equals(c.getStatus()) || "CleanupSkipped".equals(c.getReason());
    if (changed && tell) {
      record(
          client,
          job,
          "cleanup-" + c.getReason().toLowerCase(Locale.ROOT),
          "Warning",
          Conditions.TRUE.equals(c.getStatus()) ? "CleanupBlocked" : c.getReason(),
          c.getMessage(),
          now);
    }
  }

  /** What a job waits for outside the cluster: GPU capacity (quota, stockout) or IAM. */
  record Wait(String kind, String reason, String message) {}

  private static final java.util.Set<String> NOT_A_WAIT =
      java.util.Set.of(
          "Granting",
          dev.finetune.operator.reconcile.ports.IdentityBinding.IN_PROGRESS,
          "Released");

  static Optional<Wait> waitOf(FineTuneJobStatus status) {
    if (status.phase != null && status.phase.terminal()) {
      return Optional.empty();
    }
    Optional<Condition> capacity =
        Conditions.get(status, Conditions.CAPACITY_READY)
            .filter(c -> Conditions.FALSE.equals(c.getStatus()))
            .filter(
                c ->
                    "WaitingForCapacity".equals(c.getReason())
                        || "WaitingForProvisioning".equals(c.getReason()));
    if (capacity.isPresent()) {
      String m = status.message == null ? capacity.get().getMessage() : status.message;
      return Optional.of(new Wait("capacity", capacity.get().getReason(), m));
    }
    // Waiting for IAM is a retry while provisioning (IAM unreachable, a concurrent edit, no
    // client yet); the call in flight (Granting, in progress) is not, nor a released grant.
    Optional<Condition> iam =
        Conditions.get(status, Conditions.IDENTITY_BOUND)
            .filter(c -> status.phase == FineTuneJobStatus.Phase.Provisioning)
            .filter(c -> Conditions.FALSE.equals(c.getStatus()))
            .filter(c -> !NOT_A_WAIT.contains(c.getReason()));
    if (iam.isPresent()) {
      return Optional.of(
          new Wait("iam", "WaitingForIam", iam.get().getReason() + ": " + iam.get().getMessage()));
    }
    return Optional.empty();
  }

  /**
   * One Warning when the job starts waiting for capacity or IAM, one Normal Event when that wait
   * ends; nothing for the retries in between.
   */
  void waiting(
      KubernetesClient client,
      FineTuneJob job,
      FineTuneJobStatus before,
      FineTuneJobStatus after,
      Instant now) {
    Optional<Wait> was = waitOf(before);
    Optional<Wait> is = waitOf(after);
    String wasKind = was.map(Wait::kind).orElse(null);
    String isKind = is.map(Wait::kind).orElse(null);
    if (Objects.equals(wasKind, isKind)) {
      return;
    }
    if (was.isPresent()) {
      Wait w = was.get();
      record(
          client,
          job,
          "waited-" + w.kind(),
          "Normal",
          w.kind().equals("capacity") ? "CapacityAvailable" : "IamReady",
          "stopped waiting for "
              + (w.kind().equals("capacity") ? "GPU capacity" : "IAM")
              + (after.message == null ? "" : ": " + after.message),
          now);
    }
    if (is.isPresent()) {
      Wait w = is.get();
      record(client, job, "waiting-" + w.kind(), "Warning", w.reason(), w.message(), now);
    }
  }

  /**
   * One Event when the trainer's place in Kueue changes (Queued, Admitted, QueueNotFound,
   * KueueNotInstalled); nothing while it stays. Named per admission round, so a job queued again
   * after a preemption by Kueue gets its own Queued and Admitted Events.
   */
  void queue(
      KubernetesClient client,
      FineTuneJob job,
      FineTuneJobStatus before,
      FineTuneJobStatus after,
      Instant now) {
    FineTuneJobStatus.QueueStatus was = before.training == null ? null : before.training.queue;
    FineTuneJobStatus.QueueStatus is = after.training == null ? null : after.training.queue;
    if (is == null || is.state == null || (was != null && Objects.equals(was.state, is.state))) {
      return;
    }
    int round = is.admissions == null ? 0 : is.admissions;
    boolean admitted = "Admitted".equals(is.state);
    boolean trouble = "QueueNotFound".equals(is.state) || "KueueNotInstalled".equals(is.state);
    String message =
        admitted
            ? "Kueue admitted the trainer Job to ClusterQueue "
                + is.clusterQueue
                + " (LocalQueue "
                + is.localQueue
                + ")"
            : after.message == null ? is.state : after.message;
    record(
        client,
        job,
        is.state.toLowerCase(Locale.ROOT) + "-" + (admitted ? round - 1 : round),
        trouble ? "Warning" : "Normal",
        is.state,
        message,
        now);
  }

  private void record(
      KubernetesClient client,
      FineTuneJob job,
      String what,
      String type,
      String reason,
      String message,
      Instant now) {
    if (message.length() > 1000) {
      message = message.substring(0, 1000);
    }
    String uid = job.getMetadata().getUid() == null ? "0" : job.getMetadata().getUid();
    String name =
        job.getMetadata().getName()
            + "."
            + what
            + "."
            + uid.substring(0, Math.min(8, uid.length()));
    try {
      client
          .v1()
          .events()
          .inNamespace(job.getMetadata().getNamespace())
          .resource(
              new EventBuilder()
                  .withNewMetadata()
                  .withName(name)
                  .withNamespace(job.getMetadata().getNamespace())
                  .endMetadata()
                  .withNewInvolvedObject()
                  .withApiVersion(job.getApiVersion())
                  .withKind(job.getKind())
                  .withName(job.getMetadata().getName())
                  .withNamespace(job.getMetadata().getNamespace())
                  .withUid(job.getMetadata().getUid())
                  .endInvolvedObject()
                  .withType(type)
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
      if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
        // Not recorded: the status is not written either, so the change (and its Event) is
        // made again on the retry. An Event already there (409) is this one.
        LOG.warn("could not record event for {}: {}", job.getMetadata().getName(), e.getMessage());
        throw e;
      }
    }
  }
}
