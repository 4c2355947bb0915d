package dev.finetune.operator.reconcile.steps;

import dev.finetune.operator.reconcile.JobContext;
import dev.finetune.operator.reconcile.Step;
import dev.finetune.operator.reconcile.StepResult;
import dev.finetune.operator.tenancy.TenantPolicy;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs before every step: the spec must stay within what the namespace was given (an admin may take
 * a location back while a job runs). A refusal fails the job with reason {@code NotAllowed} before
 * the step reads, creates or grants anything.
 */
public final class TenancyGuard implements Step {
  private static final Logger LOG = LoggerFactory.getLogger(TenancyGuard.class);
  private final Step inner;

  public TenancyGuard(Step inner) {
    this.inner = inner;
  }

  @Override
  public String name() {
    return inner.name();
  }

  public Step inner() {
    return inner;
  }

  @Override
  public StepResult run(JobContext ctx) {
    Optional<TenantPolicy.Refusal> refusal =
        TenantPolicy.check(ctx.job(), ctx.namespaceAnnotations());
    if (refusal.isPresent()) {
      LOG.info(
          "{}/{}: refused, {} is outside what the namespace was given",
          ctx.job().getMetadata().getNamespace(),
          ctx.job().getMetadata().getName(),
          refusal.get().field());
      return ctx.fail(refusal.get().condition(), TenantPolicy.NOT_ALLOWED, refusal.get().message());
    }
    return inner.run(ctx);
  }
}
