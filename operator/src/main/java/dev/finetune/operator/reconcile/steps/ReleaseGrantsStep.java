package dev.finetune.operator.reconcile.steps;

import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Grant;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.operator.reconcile.Conditions;
import dev.finetune.operator.reconcile.JobContext;
import dev.finetune.operator.reconcile.Step;
import dev.finetune.operator.reconcile.StepResult;
import dev.finetune.operator.reconcile.ports.IdentityBinding;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Removes exactly the IAM grants recorded in status.identity: when the job reaches Succeeded or
 * Failed (a finished job's service account keeps no access) and again on deletion (for anything
 * left). While IAM refuses or cannot be reached, {@code CleanupBlocked} says why and what to do; an
 * admin who accepts leaving the grants behind annotates the job {@value #SKIP_ANNOTATION}=true.
 */
public final class ReleaseGrantsStep implements Step {
  public static final String SKIP_ANNOTATION = "finetune.dev/skip-iam-cleanup";
  static final Duration MAX_BACKOFF = Duration.ofMinutes(5);
  private final IdentityBinding binding;

  public ReleaseGrantsStep(IdentityBinding binding) {
    this.binding = binding;
  }

  @Override
  public String name() {
    return "release-grants";
  }

  /** The grants of a job still to be released. */
  public static List<Grant> pending(FineTuneJobStatus status) {
    return status == null || status.identity == null || status.identity.grants == null
        ? List.of()
        : status.identity.grants;
  }

  @Override
  public StepResult run(JobContext ctx) {
    List<Grant> grants = pending(ctx.status());
    if (grants.isEmpty()) {
      return StepResult.done();
    }
    Map<String, String> annotations = ctx.job().getMetadata().getAnnotations();
    if (annotations != null && "true".equalsIgnoreCase(annotations.get(SKIP_ANNOTATION))) {
      // An empty object would be written as null, which the schema refuses.
      ctx.status().identity = null;
      ctx.condition(
          Conditions.CLEANUP_BLOCKED,
          Conditions.FALSE,
          "CleanupSkipped",
          "IAM grants left in place by " + SKIP_ANNOTATION + ": " + grants);
      return StepResult.done();
    }
    IdentityBinding.Outcome o = binding.release(ctx.job(), grants);
    if (o instanceof IdentityBinding.Bound) {
      ctx.status().identity.grants = null;
      ctx.status().identity.releasedAt = ctx.now().toString();
      if (Conditions.get(ctx.status(), Conditions.CLEANUP_BLOCKED).isPresent()) {
        ctx.condition(
            Conditions.CLEANUP_BLOCKED,
            Conditions.FALSE,
            "Released",
            grants.size() + " IAM grant(s) removed");
      }
      if (ctx.status().phase != null
          && (ctx.status().phase.terminal() || ctx.status().phase == Phase.Evaluating)) {
        ctx.condition(
            Conditions.IDENTITY_BOUND,
            Conditions.FALSE,
            "Released",
            (ctx.status().phase.terminal() ? "the run is over; " : "the trainer has finished; ")
                + grants.size()
                + " IAM grant(s) removed");
      }
      return StepResult.done();
    }
    if (o instanceof IdentityBinding.Retry r && IdentityBinding.IN_PROGRESS.equals(r.reason())) {
      return StepResult.requeueAfter(r.after());
    }
    String reason;
    String message;
    Duration floor;
    if (o instanceof IdentityBinding.Retry r) {
      reason = r.reason();
      message = r.message();
      floor = r.after();
    } else if (o instanceof IdentityBinding.Failed f) {
      reason = f.reason();
      message = f.message();
      floor = Duration.ofSeconds(30);
    } else {
      reason = "ReleaseFailed";
      message = String.valueOf(o);
      floor = Duration.ofSeconds(30);
    }
    ctx.condition(
        Conditions.CLEANUP_BLOCKED,
        Conditions.TRUE,
        reason,
        "could not remove "
            + grants
            + ": "
            + message
            + "; retrying. To leave the grants in place and let the job go, annotate it "
            + SKIP_ANNOTATION
            + "=true (kubectl annotate ftj "
            + ctx.job().getMetadata().getName()
            + " "
            + SKIP_ANNOTATION
            + "=true).");
    return StepResult.requeueAfter(backoff(ctx, floor));
  }

  /** Grows with the time the cleanup has been blocked (so it survives a restart), capped. */
  static Duration backoff(JobContext ctx, Duration floor) {
    Duration blocked =
        Conditions.get(ctx.status(), Conditions.CLEANUP_BLOCKED)
            .filter(c -> Conditions.TRUE.equals(c.getStatus()))
            .map(Condition::getLastTransitionTime)
            .map(t -> Duration.between(Instant.parse(t), ctx.now()))
            .orElse(Duration.ZERO);
    Duration d = blocked.compareTo(floor) > 0 ? blocked : floor;
    return d.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : d;
  }
}
