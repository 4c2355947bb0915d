package dev.finetune.operator.reconcile.adapters;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Grant;
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
 * FINETUNE_IAM_MODE=gcp: the operator makes the IAM grants itself and removes exactly those again.
 * Classic mode grants roles/iam.workloadIdentityUser on the Google service account to the job's
 * Kubernetes service account; direct mode grants the job's federated principal storage roles on the
 * dataset and output buckets. The namespace policy was checked before this is called.
 *
 * <p>IAM calls run aside and the step polls. A job has at most one IAM call in flight: bind and
 * release share one slot, so a release asked for while a bind is still running waits for it, and
 * never runs before a grant that would then be left behind. The Google clients are built on first
 * use; while they cannot be, the job waits and says why.
 */
public final class GcpIdentityBinding implements IdentityBinding {
  private static final Duration POLL = Duration.ofSeconds(1);
  static final String SERVICE_ACCOUNT = "serviceAccount";
  static final String BUCKET = "bucket";
  private final Supplier<WorkloadIdentityBinder> serviceAccounts;
  private final Supplier<BucketIamBinder> buckets;
  private final String project;
  private final String projectNumber;
  private final AsyncWork<Tagged> work;

  /** An IAM result and the operation (bind or release of which grants) it belongs to. */
  public record Tagged(String op, IamResult result) {}

  public GcpIdentityBinding(
      Supplier<WorkloadIdentityBinder> serviceAccounts,
      Supplier<BucketIamBinder> buckets,
      String project,
      String projectNumber,
      AsyncWork<Tagged> work) {
    this.serviceAccounts = serviceAccounts;
    this.buckets = buckets;
    this.project = project;
    this.projectNumber = projectNumber;
    this.work = work;
  }

  @Override
  public List<Grant> grants(FineTuneJob job, String ksaName) {
    String ns = job.getMetadata().getNamespace();
    IdentitySpec id = job.getSpec().identity;
    if (id != null && id.mode == IdentitySpec.Mode.DIRECT) {
      String principal =
          WorkloadIdentityMembers.directPrincipal(projectNumber, project, ns, ksaName);
      List<Grant> g = new ArrayList<>();
      for (String bucket : datasetBuckets(job)) {
        g.add(new Grant(BUCKET, bucket, WorkloadIdentityMembers.STORAGE_OBJECT_VIEWER, principal));
      }
      g.add(
          new Grant(
              BUCKET,
              GcsUri.parse(job.getSpec().output).bucket(),
              WorkloadIdentityMembers.STORAGE_OBJECT_USER,
              principal));
      return g;
    }
    if (id == null || id.gcpServiceAccount == null) {
      return List.of();
    }
    return List.of(
        new Grant(
            SERVICE_ACCOUNT,
            id.gcpServiceAccount,
            WorkloadIdentityMembers.WORKLOAD_IDENTITY_USER,
            WorkloadIdentityMembers.classicMember(project, ns, ksaName)));
  }

  @Override
  public Outcome bind(FineTuneJob job, String ksaName, String allowedAnnotation) {
    IdentitySpec id = job.getSpec().identity;
    boolean direct = id != null && id.mode == IdentitySpec.Mode.DIRECT;
    if (!direct && (id == null || id.gcpServiceAccount == null)) {
      return new Failed(
          "NoServiceAccount",
          "identity.gcpServiceAccount is required unless identity.mode is direct");
    }
    List<Grant> grants = grants(job, ksaName);
    String what =
        direct
            ? grants.get(0).member + " may read the dataset buckets and write the output bucket"
            : WorkloadIdentityMembers.WORKLOAD_IDENTITY_USER
                + " on "
                + id.gcpServiceAccount
                + " granted to "
                + grants.get(0).member;
    return run(
        job,
        "bind " + grants,
        () -> apply(grants, true),
        direct ? "WorkloadIdentityFederation" : "WorkloadIdentityBound",
        what);
  }

  @Override
  public Outcome release(FineTuneJob job, List<Grant> grants) {
    if (grants.isEmpty()) {
      return new Bound("NothingBound", "no grant was made");
    }
    return run(
        job,
        "release " + grants,
        () -> apply(grants, false),
        "Released",
        "removed " + grants.size() + " IAM grant(s)");
  }

  private Outcome run(
      FineTuneJob job, String op, Supplier<IamResult> call, String reason, String message) {
    String key = job.getMetadata().getUid() + "/iam";
    Optional<AsyncWork.Result<Tagged>> r = work.poll(key, c -> new Tagged(op, call.get()));
    if (r.isPresent()
        && r.get() instanceof AsyncWork.Done<Tagged> d
        && !d.value().op().equals(op)) {
      // The result of the job's previous IAM call (a bind that finished after the job was
      // deleted, say): it is done, so this call may start now.
      r = work.poll(key, c -> new Tagged(op, call.get()));
    }
    if (r.isEmpty()) {
      return new Retry(IN_PROGRESS, "waiting for IAM: " + message, POLL);
    }
    if (r.get() instanceof AsyncWork.Error<Tagged> e) {
      if (e.error() instanceof Lazy.Unavailable u) {
        return new Retry(
            "IamUnavailable",
            "no IAM client yet ("
                + u.getMessage()
                + "); give the operator Google credentials or set FINETUNE_IAM_MODE=external",
            Duration.ofSeconds(30));
      }
      return new Retry("IamError", String.valueOf(e.error().getMessage()), Duration.ofSeconds(30));
    }
    IamResult result = ((AsyncWork.Done<Tagged>) r.get()).value().result();
    if (result instanceof IamResult.Done) {
      return new Bound(reason, message);
    }
    if (result instanceof IamResult.Retry retry) {
      return new Retry(retry.reason(), retry.message(), retry.retryAfter());
    }
    IamResult.Failed f = (IamResult.Failed) result;
    return new Failed(f.reason(), f.message());
  }

  /** Grants or revokes each in order; a revoke of something gone (NotFound) is done. */
  private IamResult apply(List<Grant> grants, boolean add) {
    List<IamResult> results = new ArrayList<>();
    for (Grant g : grants) {
      IamResult r;
      if (SERVICE_ACCOUNT.equals(g.kind)) {
        WorkloadIdentityBinder sa = serviceAccounts.get();
        r = add ? sa.grant(g.resource, g.role, g.member) : sa.revoke(g.resource, g.role, g.member);
      } else {
        BucketIamBinder b = buckets.get();
        r = add ? b.grant(g.resource, g.role, g.member) : b.revoke(g.resource, g.role, g.member);
      }
      if (!add && r instanceof IamResult.Failed f && "NotFound".equals(f.reason())) {
        r = new IamResult.Done(false);
      }
      results.add(r);
    }
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

  @Override
  public void close() {
    work.close();
  }
}
