package dev.finetune.operator.gcp.iam;

import com.google.api.gax.rpc.AbortedException;
import com.google.api.gax.rpc.ApiException;
import com.google.cloud.iam.admin.v1.IAMClient;
import com.google.iam.v1.GetIamPolicyRequest;
import com.google.iam.v1.GetPolicyOptions;
import com.google.iam.v1.Policy;
import com.google.iam.v1.SetIamPolicyRequest;
import java.time.Duration;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Classic Workload Identity: lets a Kubernetes service account impersonate a Google service account
 * by granting {@code roles/iam.workloadIdentityUser} to {@code
 * serviceAccount:PROJECT.svc.id.goog[NAMESPACE/KSA]} on the Google service account.
 *
 * <p>Changes are read-modify-write with the policy etag; a concurrent change (ABORTED) is retried a
 * few times at once, then reported as {@link IamResult.Retry}. Both methods are idempotent.
 */
public class WorkloadIdentityBinder {

  private static final Logger log = LoggerFactory.getLogger(WorkloadIdentityBinder.class);
  static final int MAX_TRIES = 4;

  private final IAMClient iam;
  private final String project;

  /**
   * @param project the project whose workload pool ({@code PROJECT.svc.id.goog}) the cluster uses
   */
  public WorkloadIdentityBinder(IAMClient iam, String project) {
    this.iam = iam;
    this.project = project;
  }

  /** Grants the KSA {@code roles/iam.workloadIdentityUser} on {@code gsaEmail}. */
  public IamResult bind(String gsaEmail, String namespace, String ksa) {
    String member = WorkloadIdentityMembers.classicMember(project, namespace, ksa);
    return modify(
        gsaEmail, p -> PolicyEdits.add(p, WorkloadIdentityMembers.WORKLOAD_IDENTITY_USER, member));
  }

  /** Removes only this KSA's member (and the binding if it becomes empty). */
  public IamResult unbind(String gsaEmail, String namespace, String ksa) {
    String member = WorkloadIdentityMembers.classicMember(project, namespace, ksa);
    return modify(
        gsaEmail,
        p -> PolicyEdits.remove(p, WorkloadIdentityMembers.WORKLOAD_IDENTITY_USER, member));
  }

  /** Grants {@code member} {@code role} on {@code gsaEmail} (idempotent). */
  public IamResult grant(String gsaEmail, String role, String member) {
    return modify(gsaEmail, p -> PolicyEdits.add(p, role, member));
  }

  /** Removes exactly {@code member} from {@code role} on {@code gsaEmail} (idempotent). */
  public IamResult revoke(String gsaEmail, String role, String member) {
    return modify(gsaEmail, p -> PolicyEdits.remove(p, role, member));
  }

  private IamResult modify(String gsaEmail, UnaryOperator<Policy> edit) {
    String resource = WorkloadIdentityMembers.serviceAccountResource(gsaEmail);
    ApiException last = null;
    for (int attempt = 1; attempt <= MAX_TRIES; attempt++) {
      try {
        Policy current =
            iam.getIamPolicy(
                GetIamPolicyRequest.newBuilder()
                    .setResource(resource)
                    .setOptions(GetPolicyOptions.newBuilder().setRequestedPolicyVersion(3))
                    .build());
        Policy updated = edit.apply(current);
        if (updated == null) {
          return new IamResult.Done(false);
        }
        iam.setIamPolicy(
            SetIamPolicyRequest.newBuilder().setResource(resource).setPolicy(updated).build());
        log.info("Updated IAM policy of {}", resource);
        return new IamResult.Done(true);
      } catch (AbortedException e) {
        last = e;
        log.debug("Concurrent IAM change on {} (try {}): {}", resource, attempt, e.getMessage());
      } catch (ApiException e) {
        if (e.getStatusCode().getCode()
                == com.google.api.gax.rpc.StatusCode.Code.FAILED_PRECONDITION
            && String.valueOf(e.getMessage()).toLowerCase().contains("etag")) {
          last = e;
          continue;
        }
        return IamErrors.map(
            e,
            "iam.serviceAccounts.getIamPolicy and iam.serviceAccounts.setIamPolicy on " + gsaEmail,
            "updating the IAM policy of service account " + gsaEmail);
      }
    }
    return new IamResult.Retry(
        "ConcurrentModification",
        "The IAM policy of "
            + gsaEmail
            + " kept changing concurrently ("
            + MAX_TRIES
            + " tries, last: "
            + IamErrors.clean(last)
            + "); will retry.",
        Duration.ofSeconds(5));
  }
}
