package dev.finetune.operator.reconcile.steps;

import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.operator.reconcile.Conditions;
import dev.finetune.operator.reconcile.JobContext;
import dev.finetune.operator.reconcile.Step;
import dev.finetune.operator.reconcile.StepResult;
import dev.finetune.operator.reconcile.ports.DatasetCheck;
import java.time.Duration;

/** Validating: every line of the data is checked before any GPU is asked for. */
public final class ValidateDatasetStep implements Step {
  private final DatasetCheck check;

  public ValidateDatasetStep(DatasetCheck check) {
    this.check = check;
  }

  @Override
  public String name() {
    return "validate-dataset";
  }

  @Override
  public StepResult run(JobContext ctx) {
    DatasetCheck.Outcome outcome = check.check(ctx.job());
    if (outcome instanceof DatasetCheck.Running r) {
      ctx.condition(Conditions.DATASET_VALID, Conditions.UNKNOWN, "Validating", r.message());
      ctx.status().message = r.message();
      return StepResult.requeueAfter(Duration.ofSeconds(2));
    }
    if (outcome instanceof DatasetCheck.Valid v) {
      ctx.status().dataset = v.stats();
      ctx.condition(
          Conditions.DATASET_VALID,
          Conditions.TRUE,
          "Valid",
          String.format(
              "%d training and %d evaluation examples in format %s, ~%d tokens",
              nz(v.stats().trainExamples),
              nz(v.stats().validationExamples),
              v.stats().format,
              nz(v.stats().estimatedTokens)));
      ctx.condition(Conditions.READY, Conditions.FALSE, "Provisioning", "getting a GPU");
      ctx.phase(Phase.Provisioning, "dataset valid; choosing and provisioning a GPU");
      return StepResult.proceed();
    }
    if (outcome instanceof DatasetCheck.Invalid inv) {
      ctx.status().dataset = inv.stats();
      return ctx.fail(Conditions.DATASET_VALID, inv.reason(), inv.message());
    }
    DatasetCheck.NotImplemented ni = (DatasetCheck.NotImplemented) outcome;
    return ctx.notImplemented(Conditions.DATASET_VALID, ni.what());
  }

  private static long nz(Long v) {
    return v == null ? 0 : v;
  }
}
