package dev.finetune.operator.reconcile.steps;

import dev.finetune.api.v1alpha1.FineTuneJobStatus.HardwareStatus;
import dev.finetune.operator.capacity.CapacityApis;
import dev.finetune.operator.capacity.CapacityPlacement;
import dev.finetune.operator.capacity.ComputeClasses;
import dev.finetune.operator.capacity.FlexStart;
import dev.finetune.operator.children.Durations;
import dev.finetune.operator.children.Labels;
import dev.finetune.operator.children.Ownership;
import dev.finetune.operator.reconcile.Conditions;
import dev.finetune.operator.reconcile.JobContext;
import dev.finetune.operator.reconcile.StepResult;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.PodTemplate;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.HttpURLConnection;
import java.time.Duration;
import java.util.Optional;

/**
 * Capacity for hardware.provisioning computeClass (a GKE ComputeClass of the job's shape) and
 * flexStart (a ProvisioningRequest for the trainer pod), and the flex-start wait: the trainer Job
 * stays suspended until its request is Provisioned, then the operator unsuspends it.
 */
final class ProvisioningModes {
  static final String COMPUTE_CLASS_APPLIED = "ComputeClassApplied";
  static final String COMPUTE_CLASS_UNAVAILABLE = "ComputeClassUnavailable";
  static final String COMPUTE_CLASS_REFUSED = "ComputeClassRefused";
  static final String PROVISIONING_REQUESTED = "ProvisioningRequested";
  static final String PROVISIONING_UNAVAILABLE = "ProvisioningRequestUnavailable";
  static final String QUEUED_BY_KUEUE = "QueuedByKueue";
  static final String WAITING_FOR_PROVISIONING = "WaitingForProvisioning";
  static final String PROVISIONED = "Provisioned";
  static final String PROVISIONING_FAILED = "ProvisioningFailed";
  static final String CAPACITY_REVOKED = "CapacityRevoked";
  static final String BOOKING_EXPIRED = "BookingExpired";

  private ProvisioningModes() {}

  /** Applies the ComputeClass of the job's shape (server-side apply: the same on every call). */
  static Optional<StepResult> computeClass(JobContext ctx) {
    HardwareStatus hw = ctx.status().hardware;
    GenericKubernetesResource cc =
        ComputeClasses.desired(
            hw.accelerator,
            hw.count,
            ctx.config().computeClassPriorities(),
            ctx.config().nodePools().gpuDriverVersion());
    String name = cc.getMetadata().getName();
    try {
      CapacityApis.computeClasses(ctx.client())
          .resource(cc)
          .fieldManager(Labels.FIELD_MANAGER)
          .forceConflicts()
          .serverSideApply();
    } catch (KubernetesClientException e) {
      if (e.getCode() == HttpURLConnection.HTTP_NOT_FOUND) {
        return Optional.of(
            ctx.fail(
                Conditions.CAPACITY_READY,
                COMPUTE_CLASS_UNAVAILABLE,
                "this cluster has no ComputeClass API (cloud.google.com/v1 computeclasses);"
                    + " custom ComputeClasses need GKE 1.30.3-gke.1451000 or later. Use another"
                    + " hardware.provisioning mode."));
      }
      if (e.getCode() == 422 || e.getCode() == HttpURLConnection.HTTP_BAD_REQUEST) {
        return Optional.of(
            ctx.fail(
                Conditions.CAPACITY_READY,
                COMPUTE_CLASS_REFUSED,
                "the API server refused ComputeClass "
                    + name
                    + ": "
                    + e.getStatus().getMessage()
                    + " (check FINETUNE_COMPUTE_CLASS_PRIORITIES and"
                    + " FINETUNE_GPU_DRIVER_VERSION)"));
      }
      throw e;
    }
    hw.computeClass = name;
    new dev.finetune.operator.children.TrainerJob.Placement(hw.accelerator, hw.count, false, null)
        .machineType()
        .ifPresent(m -> hw.machineType = m);
    return Optional.empty();
  }

  static String computeClassMessage(JobContext ctx) {
    return "the trainer selects ComputeClass "
        + ctx.status().hardware.computeClass
        + " (GKE tries "
        + String.join(
            ", ", ctx.config().computeClassPriorities().stream().map(Object::toString).toList())
        + ")";
  }

  /**
   * Creates the PodTemplate and the ProvisioningRequest of the trainer pod once (a 409 is theirs
   * when this job controls them). Nothing when Kueue admits the job: its ProvisioningRequest
   * admission check makes the request.
   */
  static Optional<StepResult> requestCapacity(JobContext ctx) {
    if (CapacityPlacement.queuedByKueue(ctx.job())) {
      return Optional.empty();
    }
    Job trainer = LaunchTrainerStep.desiredJob(ctx);
    PodTemplate template = FlexStart.podTemplate(ctx.job(), trainer.getSpec().getTemplate());
    if (Ownership.create(ctx.client(), template, ctx.job()) instanceof Ownership.NameInUse n) {
      return Optional.of(
          ctx.fail(Conditions.CAPACITY_READY, LaunchTrainerStep.NAME_IN_USE, n.message()));
    }
    GenericKubernetesResource pr =
        FlexStart.provisioningRequest(
            ctx.job(),
            Durations.parseSeconds(
                ctx.job().getSpec().hardware == null
                        || ctx.job().getSpec().hardware.maxRuntime == null
                    ? "24h"
                    : ctx.job().getSpec().hardware.maxRuntime));
    var requests =
        CapacityApis.provisioningRequests(ctx.client())
            .inNamespace(ctx.job().getMetadata().getNamespace());
    try {
      requests.resource(pr).create();
    } catch (KubernetesClientException e) {
      if (e.getCode() == HttpURLConnection.HTTP_NOT_FOUND) {
        return Optional.of(
            ctx.fail(
                Conditions.CAPACITY_READY,
                PROVISIONING_UNAVAILABLE,
                "this cluster has no ProvisioningRequest API (autoscaling.x-k8s.io/v1"
                    + " provisioningrequests); flex-start with queued provisioning needs GKE"
                    + " 1.28.3-gke.1098000 or later. Use another hardware.provisioning mode."));
      }
      if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
        throw e;
      }
      GenericKubernetesResource existing = requests.withName(pr.getMetadata().getName()).get();
      Optional<String> foreign = Ownership.foreign(existing, pr, ctx.job());
      if (foreign.isPresent()) {
        return Optional.of(
            ctx.fail(Conditions.CAPACITY_READY, LaunchTrainerStep.NAME_IN_USE, foreign.get()));
      }
    }
    ctx.status().hardware.provisioningRequest = pr.getMetadata().getName();
    return Optional.empty();
  }

  /**
   * While the trainer Job is suspended: its ProvisioningRequest decides. Provisioned unsuspends the
   * Job; Failed, CapacityRevoked and BookingExpired fail the run with the request's words; anything
   * else is a wait, visible in CapacityReady (WaitingForProvisioning) and one Event. With Kueue the
   * Job is Kueue's to unsuspend: the job only waits.
   *
   * @return the step's result, or empty when the Job runs (it is not suspended)
   */
  static Optional<StepResult> gate(JobContext ctx, Job trainer, boolean started) {
    boolean suspended = Boolean.TRUE.equals(trainer.getSpec().getSuspend());
    if (CapacityPlacement.queuedByKueue(ctx.job())) {
      if (!suspended) {
        return Optional.empty();
      }
      String m = "the trainer Job waits for Kueue to admit it (spec.queue)";
      ctx.condition(Conditions.CAPACITY_READY, Conditions.FALSE, QUEUED_BY_KUEUE, m);
      ctx.status().message = m;
      return Optional.of(StepResult.requeueAfter(ctx.config().progressPollInterval()));
    }
    String name = FlexStart.name(ctx.job());
    GenericKubernetesResource pr =
        CapacityApis.provisioningRequests(ctx.client())
            .inNamespace(ctx.job().getMetadata().getNamespace())
            .withName(name)
            .get();
    if (pr == null || !Ownership.ownedBy(pr, ctx.job().getMetadata().getUid())) {
      if (!suspended) {
        return Optional.empty();
      }
      // Gone (deleted by hand): ask again.
      Optional<StepResult> r = requestCapacity(ctx);
      if (r.isPresent()) {
        return r;
      }
      return Optional.of(waiting(ctx, "ProvisioningRequest " + name + " created again"));
    }
    FlexStart.State state = FlexStart.state(pr, started || !suspended);
    if (state instanceof FlexStart.Ended e) {
      String reason =
          "CapacityRevoked".equals(e.condition())
              ? CAPACITY_REVOKED
              : "BookingExpired".equals(e.condition()) ? BOOKING_EXPIRED : PROVISIONING_FAILED;
      return Optional.of(
          ctx.fail(
              Conditions.CAPACITY_READY,
              reason,
              "ProvisioningRequest "
                  + name
                  + " is "
                  + e.condition()
                  + ": "
                  + e.message()
                  + ". Dynamic Workload Scheduler gives no nodes for this run; create the"
                  + " FineTuneJob again (under a new name) to queue a new request."));
    }
    if (!suspended) {
      return Optional.empty();
    }
    if (state instanceof FlexStart.Provisioned p) {
      ctx.client()
          .batch()
          .v1()
          .jobs()
          .inNamespace(trainer.getMetadata().getNamespace())
          .withName(trainer.getMetadata().getName())
          .edit(
              j -> {
                j.getSpec().setSuspend(false);
                return j;
              });
      ctx.condition(
          Conditions.CAPACITY_READY,
          Conditions.TRUE,
          PROVISIONED,
          "ProvisioningRequest " + name + " is provisioned: " + p.message());
      ctx.status().message = "nodes provisioned; the trainer Job starts";
      return Optional.of(StepResult.requeueAfter(Duration.ofSeconds(1)));
    }
    return Optional.of(waiting(ctx, ((FlexStart.Waiting) state).message()));
  }

  private static StepResult waiting(JobContext ctx, String words) {
    String m =
        "waiting for Dynamic Workload Scheduler to provision the trainer's nodes"
            + " (ProvisioningRequest "
            + FlexStart.name(ctx.job())
            + "): "
            + words;
    ctx.condition(Conditions.CAPACITY_READY, Conditions.FALSE, WAITING_FOR_PROVISIONING, m);
    ctx.status().message = m;
    Duration poll = ctx.config().progressPollInterval();
    return StepResult.requeueAfter(
        poll.compareTo(Duration.ofSeconds(10)) < 0 ? poll : Duration.ofSeconds(10));
  }
}
