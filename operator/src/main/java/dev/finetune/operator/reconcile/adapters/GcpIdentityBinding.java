package dev.finetune.operator.reconcile.adapters;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.IdentitySpec;
import dev.finetune.operator.gcp.iam.BucketIamBinder;
import dev.finetune.operator.gcp.iam.IamResult;
import dev.finetune.operator.gcp.iam.WorkloadIdentityBinder;
import dev.finetune.operator.gcp.iam.WorkloadIdentityMembers;
import dev.finetune.operator.gcp.storage.GcsUri;
import dev.finetune.operator.reconcile.ports.IdentityBinding;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * FINETUNE_IAM_MODE=gcp: the operator makes the IAM grant itself and removes it on deletion.
 * Classic mode grants roles/iam.workloadIdentityUser on the Google service account to the job's
 * Kubernetes service account; direct mode grants the job's federated principal storage roles on the
 * dataset and output buckets. The namespace policy was checked before this is called. IAM calls run
 * aside; the step polls.
 */
public final class GcpIdentityBinding implements IdentityBinding {
  private static final Duration POLL = Duration.ofSeconds(1);
  private final WorkloadIdentityBinder serviceAccounts;
  private final BucketIamBinder buckets;
  private final String project;
  private final String projectNumber;
  private final AsyncWork<IamResult> work;

  public GcpIdentityBinding(
      WorkloadIdentityBinder serviceAccounts,
      BucketIamBinder buckets,
      String project,
      String projectNumber,
      AsyncWork<IamResult> work) {
    this.serviceAccounts = serviceAccounts;
    this.buckets = buckets;
    this.project = project;
    this.projectNumber = projectNumber;
    this.work = work;
  }

  @Override
  public Outcome bind(FineTuneJob job, String ksaName, String allowedAnnotation) {
    String ns = job.getMetadata().getNamespace();
    IdentitySpec id = job.getSpec().identity;
    if (id != null && id.mode == IdentitySpec.Mode.DIRECT) {
      String principal =
          WorkloadIdentityMembers.directPrincipal(projectNumber, project, ns, ksaName);
      return run(
          key(job, "bind"),
          () -> grantDirect(job, principal),
          "WorkloadIdentityFederation",
          principal + " may read the dataset buckets and write the output bucket");
    }
    if (id == null || id.gcpServiceAccount == null) {
      return new Failed(
          "NoServiceAccount",
          "identity.gcpServiceAccount is required unless identity.mode is direct");
    }
    String gsa = id.gcpServiceAccount;
    return run(
        key(job, "bind"),
        () -> serviceAccounts.bind(gsa, ns, ksaName),
        "WorkloadIdentityBound",
        "roles/iam.workloadIdentityUser on "
            + gsa
            + " granted to "
            + WorkloadIdentityMembers.classicMember(project, ns, ksaName));
  }

  @Override
  public Outcome release(FineTuneJob job, String ksaName) {
    String ns = job.getMetadata().getNamespace();
    IdentitySpec id = job.getSpec().identity;
    if (id == null || (id.mode != IdentitySpec.Mode.DIRECT && id.gcpServiceAccount == null)) {
      return new Bound("NothingBound", "no identity was bound");
    }
    if (id.mode == IdentitySpec.Mode.DIRECT) {
      String principal =
          WorkloadIdentityMembers.directPrincipal(projectNumber, project, ns, ksaName);
      return run(
          key(job, "release"), () -> revokeDirect(job, principal), "Released", "grants removed");
    }
    return run(
        key(job, "release"),
        () -> serviceAccounts.unbind(id.gcpServiceAccount, ns, ksaName),
        "Released",
        "workloadIdentityUser binding removed");
  }

  private Outcome run(String key, Supplier<IamResult> call, String reason, String message) {
    Optional<AsyncWork.Result<IamResult>> r = work.poll(key, c -> call.get());
    if (r.isEmpty()) {
      return new Retry("IamInProgress", "waiting for IAM: " + message, POLL);
    }
    if (r.get() instanceof AsyncWork.Error<IamResult> e) {
      return new Retry("IamError", String.valueOf(e.error().getMessage()), Duration.ofSeconds(30));
    }
    IamResult result = ((AsyncWork.Done<IamResult>) r.get()).value();
    if (result instanceof IamResult.Done) {
      return new Bound(reason, message);
    }
    if (result instanceof IamResult.Retry retry) {
      return new Retry(retry.reason(), retry.message(), retry.retryAfter());
    }
    IamResult.Failed f = (IamResult.Failed) result;
    return new Failed(f.reason(), f.message());
  }

  private IamResult grantDirect(FineTuneJob job, String principal) {
    List<IamResult> results = new ArrayList<>();
    for (String bucket : datasetBuckets(job)) {
      results.add(buckets.grantDataset(bucket, principal));
    }
    results.add(buckets.grantOutput(GcsUri.parse(job.getSpec().output).bucket(), principal));
    return worst(results);
  }

  private IamResult revokeDirect(FineTuneJob job, String principal) {
    List<IamResult> results = new ArrayList<>();
    for (String bucket : datasetBuckets(job)) {
      results.add(buckets.revoke(bucket, WorkloadIdentityMembers.STORAGE_OBJECT_VIEWER, principal));
    }
    results.add(
        buckets.revoke(
            GcsUri.parse(job.getSpec().output).bucket(),
            WorkloadIdentityMembers.STORAGE_OBJECT_USER,
            principal));
    return worst(results);
  }

  private static Set<String> datasetBuckets(FineTuneJob job) {
    Set<String> b = new LinkedHashSet<>();
    b.add(GcsUri.parse(job.getSpec().dataset.train).bucket());
    if (job.getSpec().dataset.validation != null) {
      b.add(GcsUri.parse(job.getSpec().dataset.validation).bucket());
    }
    return b;
  }

  /** Failed beats Retry beats Done. */
  private static IamResult worst(List<IamResult> results) {
    return results.stream()
        .filter(r -> r instanceof IamResult.Failed)
        .findFirst()
        .or(() -> results.stream().filter(r -> r instanceof IamResult.Retry).findFirst())
        .orElse(new IamResult.Done(true));
  }

  private static String key(FineTuneJob job, String what) {
    return job.getMetadata().getUid() + "/" + what;
  }
}
