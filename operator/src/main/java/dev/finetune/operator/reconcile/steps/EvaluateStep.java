package dev.finetune.operator.reconcile.steps;

import dev.finetune.api.v1alpha1.FineTuneJobStatus.OutputStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.operator.reconcile.Conditions;
import dev.finetune.operator.reconcile.JobContext;
import dev.finetune.operator.reconcile.Step;
import dev.finetune.operator.reconcile.StepResult;
import dev.finetune.operator.reconcile.ports.Evaluation;
import dev.finetune.operator.tenancy.JobJsonSchemas;
import java.time.Duration;

/**
 * Evaluating: the metrics of baseline and tuned predictions with their intervals, the report, then
 * the quality gate.
 */
public final class EvaluateStep implements Step {
  private final Evaluation evaluation;

  public EvaluateStep(Evaluation evaluation) {
    this.evaluation = evaluation;
  }

  @Override
  public String name() {
    return "evaluate";
  }

  @Override
  public StepResult run(JobContext ctx) {
    Evaluation.Outcome o =
        evaluation.evaluate(ctx.job(), JobJsonSchemas.forJob(ctx.client(), ctx.job()));
    if (o instanceof Evaluation.Running r) {
      ctx.condition(Conditions.EVALUATION_COMPLETE, Conditions.UNKNOWN, "Scoring", r.message());
      return StepResult.requeueAfter(Duration.ofSeconds(2));
    }
    if (o instanceof Evaluation.Invalid inv) {
      return ctx.fail(Conditions.EVALUATION_COMPLETE, inv.reason(), inv.message());
    }
    if (o instanceof Evaluation.NotImplemented ni) {
      return ctx.notImplemented(Conditions.EVALUATION_COMPLETE, ni.what());
    }
    Evaluation.Scored s = (Evaluation.Scored) o;
    ctx.status().evaluation = s.result();
    OutputStatus out = ctx.status().output == null ? new OutputStatus() : ctx.status().output;
    out.adapterUri = s.artifacts().adapterUri();
    out.adapterBytes = s.artifacts().adapterBytes();
    out.manifestUri = s.artifacts().manifestUri();
    out.manifestBytes = s.artifacts().manifestBytes();
    ctx.status().output = out;
    ctx.condition(
        Conditions.EVALUATION_COMPLETE,
        Conditions.TRUE,
        "Scored",
        s.result().examples
            + " examples scored (ROUGE with stemming, as rouge-score)"
            + (s.result().reportUri == null ? "" : "; report at " + s.result().reportUri)
            + (s.notes() == null ? "" : "; " + s.notes()));
    if (s.gatePassed() == null) {
      ctx.condition(
          Conditions.QUALITY_GATE_PASSED, Conditions.TRUE, "NoGate", "no gate configured");
    } else if (!s.gatePassed()) {
      return ctx.fail(Conditions.QUALITY_GATE_PASSED, "QualityGateFailed", s.gateMessage());
    } else {
      ctx.condition(
          Conditions.QUALITY_GATE_PASSED, Conditions.TRUE, "QualityGatePassed", s.gateMessage());
    }
    String done = "adapter at " + out.adapterUri + " (" + out.adapterBytes + " bytes)";
    ctx.condition(Conditions.READY, Conditions.TRUE, "Succeeded", done);
    ctx.phase(Phase.Succeeded, done);
    return StepResult.done();
  }
}
