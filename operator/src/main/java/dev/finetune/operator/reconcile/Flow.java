package dev.finetune.operator.reconcile;

import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.operator.cost.PriceTable;
import dev.finetune.operator.reconcile.ports.AcceleratorSizing;
import dev.finetune.operator.reconcile.ports.Capacity;
import dev.finetune.operator.reconcile.ports.DatasetCheck;
import dev.finetune.operator.reconcile.ports.Evaluation;
import dev.finetune.operator.reconcile.ports.IdentityBinding;
import dev.finetune.operator.reconcile.ports.ProgressSource;
import dev.finetune.operator.reconcile.steps.BindIdentityStep;
import dev.finetune.operator.reconcile.steps.EnsureCapacityStep;
import dev.finetune.operator.reconcile.steps.EvaluateStep;
import dev.finetune.operator.reconcile.steps.ObserveTrainingStep;
import dev.finetune.operator.reconcile.steps.ReleaseGrantsStep;
import dev.finetune.operator.reconcile.steps.SelectAcceleratorStep;
import dev.finetune.operator.reconcile.steps.StartStep;
import dev.finetune.operator.reconcile.steps.TenancyGuard;
import dev.finetune.operator.reconcile.steps.ValidateDatasetStep;
import java.util.Optional;

/**
 * The phase machine: which step comes next for a job, read from its status alone (so an operator
 * restart at any point picks up where it was).
 */
public final class Flow {
  private final Step start = new StartStep();
  private final Step validate;
  private final Step select;
  private final Step identity;
  private final Step capacity;
  private final Step train;
  private final Step evaluate;
  private final Step release;

  public Flow(Ports ports) {
    this.validate = new ValidateDatasetStep(ports.dataset());
    this.select = new SelectAcceleratorStep(ports.sizing());
    this.identity = new BindIdentityStep(ports.identity());
    this.capacity = new EnsureCapacityStep(ports.capacity());
    this.train = new ObserveTrainingStep(ports.progress(), ports.prices(), ports.capacity());
    this.release = new ReleaseGrantsStep(ports.identity());
    this.evaluate =
        new ReleaseThenEvaluate(
            release,
            new EvaluateStep(ports.evaluation()),
            ctx ->
                ports
                    .evaluation()
                    .begin(
                        ctx.job(),
                        dev.finetune.operator.tenancy.JobJsonSchemas.forJob(
                            ctx.client(), ctx.job())));
  }

  /** The step that removes the job's IAM grants, also run on deletion. */
  public Step release() {
    return release;
  }

  /**
   * The next step, or empty when the job is finished (and its grants released). Every step up to
   * the end of the run goes through the {@link TenancyGuard}: nothing is read, created or granted
   * for a spec outside what its namespace was given. Releasing grants is not guarded: it only
   * removes what status says was granted.
   */
  public Optional<Step> next(FineTuneJobStatus status) {
    Phase phase = status.phase == null ? Phase.Pending : status.phase;
    if (phase == Phase.Succeeded || phase == Phase.Failed) {
      return ReleaseGrantsStep.pending(status).isEmpty() ? Optional.empty() : Optional.of(release);
    }
    return step(status).map(TenancyGuard::new);
  }

  private Optional<Step> step(FineTuneJobStatus status) {
    Phase phase = status.phase == null ? Phase.Pending : status.phase;
    return switch (phase) {
      case Pending -> Optional.of(start);
      case Validating -> Optional.of(validate);
      case Provisioning -> {
        if (!Conditions.isTrue(status, Conditions.ACCELERATOR_SELECTED)) {
          yield Optional.of(select);
        }
        if (!Conditions.isTrue(status, Conditions.IDENTITY_BOUND)) {
          yield Optional.of(identity);
        }
        yield Optional.of(capacity);
      }
      case Training -> Optional.of(train);
      case Evaluating -> Optional.of(evaluate);
      case Succeeded, Failed -> Optional.empty();
    };
  }

  /**
   * Evaluating: the trainer has finished, so its grants are removed first; the scoring starts
   * meanwhile, and its result is taken once the grants are gone, so the job turns Succeeded or
   * Failed with its grants already released, in one status write. A release that is blocked
   * (CleanupBlocked) does not hold up the scores: it is retried with its backoff once the job is
   * finished.
   */
  static final class ReleaseThenEvaluate implements Step {
    private final Step release;
    private final Step evaluate;
    private final java.util.function.Consumer<JobContext> begin;

    ReleaseThenEvaluate(
        Step release, Step evaluate, java.util.function.Consumer<JobContext> begin) {
      this.release = release;
      this.evaluate = evaluate;
      this.begin = begin;
    }

    @Override
    public String name() {
      return evaluate.name();
    }

    @Override
    public StepResult run(JobContext ctx) {
      if (!ReleaseGrantsStep.pending(ctx.status()).isEmpty()
          && !Conditions.isTrue(ctx.status(), Conditions.CLEANUP_BLOCKED)) {
        StepResult r = release.run(ctx);
        if (!ReleaseGrantsStep.pending(ctx.status()).isEmpty()
            && !Conditions.isTrue(ctx.status(), Conditions.CLEANUP_BLOCKED)) {
          begin.accept(ctx); // the IAM call is under way; the scoring can start
          return r;
        }
      }
      return evaluate.run(ctx);
    }
  }

  /** The outside systems the flow talks to, each behind a small interface. */
  public record Ports(
      DatasetCheck dataset,
      AcceleratorSizing sizing,
      IdentityBinding identity,
      Capacity capacity,
      ProgressSource progress,
      Evaluation evaluation,
      PriceTable prices) {
    /** Stops all background work (the operator is shutting down): nothing more is done. */
    public void close() {
      dataset.close();
      sizing.close();
      identity.close();
      capacity.close();
      progress.close();
      evaluation.close();
    }

    /** Everything not built yet says so. */
    public static Ports notImplemented() {
      return new Ports(
          DatasetCheck.NOT_IMPLEMENTED,
          AcceleratorSizing.NOT_IMPLEMENTED,
          IdentityBinding.NOT_IMPLEMENTED,
          Capacity.NOT_IMPLEMENTED,
          ProgressSource.NONE,
          Evaluation.NOT_IMPLEMENTED,
          PriceTable.defaults());
    }
  }
}
