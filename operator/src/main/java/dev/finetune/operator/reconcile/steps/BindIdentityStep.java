package dev.finetune.operator.reconcile.steps;

import dev.finetune.api.v1alpha1.FineTuneJobStatus.Grant;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.IdentityStatus;
import dev.finetune.api.v1alpha1.IdentitySpec;
import dev.finetune.operator.children.Labels;
import dev.finetune.operator.children.Ownership;
import dev.finetune.operator.children.TrainerServiceAccount;
import dev.finetune.operator.gcp.iam.NamespaceGsaPolicy;
import dev.finetune.operator.reconcile.Conditions;
import dev.finetune.operator.reconcile.JobContext;
import dev.finetune.operator.reconcile.Step;
import dev.finetune.operator.reconcile.StepResult;
import dev.finetune.operator.reconcile.ports.IdentityBinding;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Provisioning (2/3): the job's Kubernetes service account, and its Google identity under the
 * namespace policy. Nothing is bound that the namespace does not allow.
 */
public final class BindIdentityStep implements Step {
  public static final String ALLOWED_ANNOTATION = NamespaceGsaPolicy.ANNOTATION;
  private final IdentityBinding binding;

  public BindIdentityStep(IdentityBinding binding) {
    this.binding = binding;
  }

  @Override
  public String name() {
    return "bind-identity";
  }

  @Override
  public StepResult run(JobContext ctx) {
    String ns = ctx.job().getMetadata().getNamespace();
    Map<String, String> annotations = ctx.namespaceAnnotations();
    String allowed = annotations.get(ALLOWED_ANNOTATION);

    IdentitySpec identity = ctx.job().getSpec().identity;
    if (identity != null
        && identity.mode != IdentitySpec.Mode.DIRECT
        && identity.gcpServiceAccount != null) {
      NamespaceGsaPolicy.Decision verdict =
          NamespaceGsaPolicy.evaluate(ns, allowed, identity.gcpServiceAccount);
      if (!verdict.allowed()) {
        // Refused before anything is created or bound. Not retried: the spec cannot change.
        return ctx.fail(Conditions.IDENTITY_BOUND, "NotAllowed", verdict.message());
      }
    }

    ServiceAccount sa = TrainerServiceAccount.desired(ctx.job());
    Optional<ServiceAccount> current = ctx.secondary(ServiceAccount.class);
    if (current.isEmpty()) {
      // Never take over a service account someone else made under the child's name.
      Optional<String> taken = Ownership.foreign(ctx.client().resource(sa).get(), sa, ctx.job());
      if (taken.isPresent()) {
        return ctx.fail(Conditions.IDENTITY_BOUND, LaunchTrainerStep.NAME_IN_USE, taken.get());
      }
    }
    if (current.isEmpty() || !upToDate(current.get(), sa)) {
      ctx.client()
          .resource(sa)
          .fieldManager(Labels.FIELD_MANAGER)
          .forceConflicts()
          .serverSideApply();
    }

    if (recordIntent(ctx, binding.grants(ctx.job(), sa.getMetadata().getName()))) {
      // Written to status before IAM is asked, so whatever happens next (a crash, a deletion)
      // knows what to release.
      return StepResult.persistThenProceed();
    }

    IdentityBinding.Outcome outcome = binding.bind(ctx.job(), sa.getMetadata().getName(), allowed);
    if (outcome instanceof IdentityBinding.Bound b) {
      ctx.condition(Conditions.IDENTITY_BOUND, Conditions.TRUE, b.reason(), b.message());
      return StepResult.proceed();
    }
    if (outcome instanceof IdentityBinding.NotAllowed na) {
      return ctx.fail(Conditions.IDENTITY_BOUND, "NotAllowed", na.message());
    }
    if (outcome instanceof IdentityBinding.Retry r) {
      ctx.condition(Conditions.IDENTITY_BOUND, Conditions.FALSE, r.reason(), r.message());
      ctx.status().message = r.message();
      return StepResult.requeueAfter(r.after());
    }
    if (outcome instanceof IdentityBinding.Failed f) {
      return ctx.fail(Conditions.IDENTITY_BOUND, f.reason(), f.message());
    }
    return ctx.notImplemented(
        Conditions.IDENTITY_BOUND, ((IdentityBinding.NotImplemented) outcome).what());
  }

  /** The service account (from the cache) already carries what the operator would apply. */
  static boolean upToDate(ServiceAccount current, ServiceAccount desired) {
    Map<String, String> labels =
        current.getMetadata().getLabels() == null ? Map.of() : current.getMetadata().getLabels();
    Map<String, String> annotations =
        current.getMetadata().getAnnotations() == null
            ? Map.of()
            : current.getMetadata().getAnnotations();
    return labels.entrySet().containsAll(desired.getMetadata().getLabels().entrySet())
        && annotations.entrySet().containsAll(desired.getMetadata().getAnnotations().entrySet())
        && (desired
                .getMetadata()
                .getAnnotations()
                .containsKey(TrainerServiceAccount.GCP_SA_ANNOTATION)
            || !annotations.containsKey(TrainerServiceAccount.GCP_SA_ANNOTATION))
        && java.util.Objects.equals(
            current.getAutomountServiceAccountToken(), desired.getAutomountServiceAccountToken())
        && current.getMetadata().getOwnerReferences() != null
        && current
            .getMetadata()
            .getOwnerReferences()
            .containsAll(desired.getMetadata().getOwnerReferences());
  }

  /** Adds the grants about to be made to status.identity; true when something was added. */
  static boolean recordIntent(JobContext ctx, List<Grant> planned) {
    if (planned.isEmpty()) {
      return false;
    }
    IdentityStatus ids =
        ctx.status().identity == null ? new IdentityStatus() : ctx.status().identity;
    List<Grant> recorded = ids.grants == null ? new ArrayList<>() : new ArrayList<>(ids.grants);
    if (recorded.containsAll(planned)) {
      return false;
    }
    planned.stream().filter(g -> !recorded.contains(g)).forEach(recorded::add);
    ids.grants = recorded;
    ids.releasedAt = null;
    ctx.status().identity = ids;
    ctx.condition(
        Conditions.IDENTITY_BOUND,
        Conditions.FALSE,
        "Granting",
        "granting " + planned.size() + " IAM role(s): " + planned);
    return true;
  }
}
