package dev.finetune.operator.reconcile.steps;

import dev.finetune.api.v1alpha1.FineTuneJobStatus.HardwareStatus;
import dev.finetune.api.v1alpha1.HardwareSpec;
import dev.finetune.operator.reconcile.Conditions;
import dev.finetune.operator.reconcile.JobContext;
import dev.finetune.operator.reconcile.Step;
import dev.finetune.operator.reconcile.StepResult;
import dev.finetune.operator.reconcile.ports.AcceleratorSizing;
import dev.finetune.operator.tenancy.JobHubTokens;
import java.time.Duration;

/**
 * Provisioning (1/3): the accelerator asked for, or the cheapest that fits for auto; either way
 * with the strategy the trainer uses over its GPUs (ddp, or fsdp for a model one GPU does not
 * hold).
 */
public final class SelectAcceleratorStep implements Step {
  /** status.hardware.strategy: every GPU holds a full replica. */
  public static final String DDP = "ddp";

  /** status.hardware.strategy: the weights are sharded over the GPUs. */
  public static final String FSDP = "fsdp";

  private final AcceleratorSizing sizing;

  public SelectAcceleratorStep(AcceleratorSizing sizing) {
    this.sizing = sizing;
  }

  @Override
  public String name() {
    return "select-accelerator";
  }

  @Override
  public StepResult run(JobContext ctx) {
    HardwareSpec hw = ctx.job().getSpec().hardware;
    HardwareSpec.Accelerator requested =
        hw == null || hw.accelerator == null ? HardwareSpec.Accelerator.AUTO : hw.accelerator;
    int count = hw == null || hw.count == null ? 1 : hw.count;
    boolean spot = hw == null || hw.spot == null || hw.spot;
    HardwareStatus status = new HardwareStatus();
    status.spot = spot;
    int nodes = hw == null || hw.nodes == null ? 1 : hw.nodes;
    status.nodes = nodes > 1 ? nodes : null;
    if (requested != HardwareSpec.Accelerator.AUTO) {
      status.accelerator = requested.wireName();
      status.count = count;
      status.strategy = DDP;
      status.reason = "requested in spec.hardware.accelerator";
      // Whether the GPUs asked for hold the model as replicas, only sharded, or not at all.
      AcceleratorSizing.Outcome outcome =
          sizing.check(
              ctx.job(), JobHubTokens.forJob(ctx.client(), ctx.job(), ctx.namespaceAnnotations()));
      if (outcome instanceof AcceleratorSizing.Running r) {
        ctx.condition(Conditions.ACCELERATOR_SELECTED, Conditions.UNKNOWN, "Sizing", r.message());
        return StepResult.requeueAfter(Duration.ofSeconds(2));
      }
      if (outcome instanceof AcceleratorSizing.Impossible i) {
        return ctx.fail(Conditions.ACCELERATOR_SELECTED, i.reason(), i.message());
      }
      if (outcome instanceof AcceleratorSizing.Chosen c) {
        status.strategy = c.strategy();
        status.reason = c.reason();
      }
    } else {
      AcceleratorSizing.Outcome outcome =
          sizing.size(
              ctx.job(), JobHubTokens.forJob(ctx.client(), ctx.job(), ctx.namespaceAnnotations()));
      if (outcome instanceof AcceleratorSizing.Running r) {
        ctx.condition(Conditions.ACCELERATOR_SELECTED, Conditions.UNKNOWN, "Sizing", r.message());
        return StepResult.requeueAfter(Duration.ofSeconds(2));
      }
      if (outcome instanceof AcceleratorSizing.Impossible i) {
        return ctx.fail(Conditions.ACCELERATOR_SELECTED, i.reason(), i.message());
      }
      if (outcome instanceof AcceleratorSizing.NotImplemented ni) {
        return ctx.notImplemented(Conditions.ACCELERATOR_SELECTED, ni.what());
      }
      AcceleratorSizing.Chosen c = (AcceleratorSizing.Chosen) outcome;
      status.accelerator = c.accelerator();
      status.count = c.count();
      status.machineType = c.machineType();
      status.strategy = c.strategy();
      status.reason = c.reason();
    }
    ctx.status().hardware = status;
    ctx.condition(
        Conditions.ACCELERATOR_SELECTED,
        Conditions.TRUE,
        requested == HardwareSpec.Accelerator.AUTO ? "Sized" : "Requested",
        status.count
            + "x "
            + status.accelerator
            + (spot ? " (spot)" : "")
            + (FSDP.equals(status.strategy) ? ", FSDP" : "")
            + ": "
            + status.reason);
    return StepResult.proceed();
  }
}
