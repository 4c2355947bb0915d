package dev.finetune.operator.reconcile.steps;

import dev.finetune.api.v1alpha1.FineTuneJobStatus.HardwareStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.api.v1alpha1.HardwareSpec;
import dev.finetune.operator.reconcile.Conditions;
import dev.finetune.operator.reconcile.JobContext;
import dev.finetune.operator.reconcile.Step;
import dev.finetune.operator.reconcile.StepResult;
import dev.finetune.operator.reconcile.ports.Capacity;

/**
 * Provisioning (3/3): GPU nodes the trainer can land on. existing and autoprovision need only the
 * pod's selectors and tolerations; managed keeps one GKE node pool per shape; computeClass applies
 * a GKE ComputeClass of the shape; flexStart asks for the nodes with a ProvisioningRequest.
 */
public final class EnsureCapacityStep implements Step {
  private final Capacity capacity;

  public EnsureCapacityStep(Capacity capacity) {
    this.capacity = capacity;
  }

  @Override
  public String name() {
    return "ensure-capacity";
  }

  @Override
  public StepResult run(JobContext ctx) {
    HardwareSpec hw = ctx.job().getSpec().hardware;
    HardwareSpec.Provisioning mode =
        hw == null || hw.provisioning == null ? HardwareSpec.Provisioning.MANAGED : hw.provisioning;
    HardwareStatus status = ctx.status().hardware;
    switch (mode) {
      case EXISTING -> {
        return ready(
            ctx,
            "ExistingNodePools",
            "the trainer selects existing node pools labelled cloud.google.com/gke-accelerator="
                + status.accelerator);
      }
      case AUTOPROVISION -> {
        return ready(
            ctx,
            "AutoProvisioned",
            "GKE node auto-provisioning creates "
                + status.accelerator
                + " nodes when the trainer pod is pending");
      }
      case COMPUTE_CLASS -> {
        return ProvisioningModes.computeClass(ctx)
            .orElseGet(
                () ->
                    ready(
                        ctx,
                        ProvisioningModes.COMPUTE_CLASS_APPLIED,
                        ProvisioningModes.computeClassMessage(ctx)));
      }
      case FLEX_START -> {
        return ProvisioningModes.requestCapacity(ctx)
            .orElseGet(
                () ->
                    requested(
                        ctx,
                        dev.finetune.operator.capacity.CapacityPlacement.queuedByKueue(ctx.job())
                            ? "Kueue's ProvisioningRequest admission check asks Dynamic Workload"
                                + " Scheduler for the trainer's nodes"
                            : "ProvisioningRequest "
                                + ctx.status().hardware.provisioningRequest
                                + " created; the trainer Job waits suspended until it is"
                                + " provisioned"));
      }
      default -> {
        int attempt = attempt(ctx);
        Capacity.Outcome o =
            capacity.ensure(
                status.accelerator, status.count, Boolean.TRUE.equals(status.spot), attempt);
        if (o instanceof Capacity.Ready r) {
          status.nodePool = r.nodePool();
          status.machineType = r.machineType();
          return ready(ctx, "NodePoolReady", "node pool " + r.nodePool() + " is ready");
        }
        if (o instanceof Capacity.Creating c) {
          status.nodePool = c.nodePool();
          ctx.condition(Conditions.CAPACITY_READY, Conditions.FALSE, "Creating", c.message());
          ctx.status().message = c.message();
          return StepResult.requeueAfter(java.time.Duration.ofSeconds(15));
        }
        if (o instanceof Capacity.Waiting w) {
          ctx.condition(
              Conditions.CAPACITY_READY, Conditions.FALSE, "WaitingForCapacity", w.message());
          ctx.status().message = w.reason() + ": " + w.message();
          return StepResult.requeueAfter(w.retryAfter());
        }
        if (o instanceof Capacity.Failed f) {
          return ctx.fail(Conditions.CAPACITY_READY, f.reason(), f.message());
        }
        return ctx.notImplemented(Conditions.CAPACITY_READY, ((Capacity.NotImplemented) o).what());
      }
    }
  }

  /**
   * How many times the job has looked while waiting for capacity, derived from how long it has
   * waited (one look per 30 s), so the backoff grows and survives an operator restart.
   */
  static int attempt(JobContext ctx) {
    return Conditions.get(ctx.status(), Conditions.CAPACITY_READY)
        .filter(c -> "WaitingForCapacity".equals(c.getReason()))
        .map(c -> java.time.Instant.parse(c.getLastTransitionTime()))
        .map(
            since ->
                (int)
                    Math.min(20, 1 + java.time.Duration.between(since, ctx.now()).toSeconds() / 30))
        .orElse(0);
  }

  /**
   * flexStart: the nodes are asked for, not there yet. CapacityReady stays False until the request
   * is provisioned; the trainer Job is created (suspended) meanwhile.
   */
  private static StepResult requested(JobContext ctx, String message) {
    ctx.condition(
        Conditions.CAPACITY_READY,
        Conditions.FALSE,
        ProvisioningModes.PROVISIONING_REQUESTED,
        message);
    ctx.condition(
        Conditions.READY, Conditions.FALSE, "Training", "creating the suspended trainer Job");
    ctx.phase(Phase.Training, message);
    return StepResult.proceed();
  }

  private static StepResult ready(JobContext ctx, String reason, String message) {
    if (dev.finetune.operator.children.TrainerJob.queue(ctx.job()) != null) {
      // Capacity is provisioned; Kueue decides when the trainer may use it.
      return QueueAdmission.admit(ctx, message);
    }
    ctx.condition(Conditions.CAPACITY_READY, Conditions.TRUE, reason, message);
    ctx.condition(Conditions.READY, Conditions.FALSE, "Training", "starting the trainer");
    ctx.phase(Phase.Training, "starting the trainer");
    return StepResult.proceed();
  }
}
