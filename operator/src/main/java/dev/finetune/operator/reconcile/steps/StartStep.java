package dev.finetune.operator.reconcile.steps;

import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.operator.reconcile.Conditions;
import dev.finetune.operator.reconcile.JobContext;
import dev.finetune.operator.reconcile.Step;
import dev.finetune.operator.reconcile.StepResult;

/** Pending: record the start and move on to validating the dataset. */
public final class StartStep implements Step {
  @Override
  public String name() {
    return "start";
  }

  @Override
  public StepResult run(JobContext ctx) {
    if (ctx.status().startTime == null) {
      ctx.status().startTime = ctx.now().toString();
    }
    ctx.condition(
        Conditions.READY, Conditions.FALSE, "Validating", "validating the dataset before any GPU");
    ctx.phase(Phase.Validating, "validating the dataset");
    return StepResult.proceed();
  }
}
