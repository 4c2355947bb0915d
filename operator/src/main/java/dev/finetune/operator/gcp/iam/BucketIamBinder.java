package dev.finetune.operator.gcp.iam;

import com.google.cloud.Binding;
import com.google.cloud.Policy;
import com.google.cloud.storage.Storage;
import com.google.cloud.storage.StorageException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Direct Workload Identity (Workload Identity Federation for GKE): grants a job's Kubernetes
 * principal ({@link WorkloadIdentityMembers#directPrincipal}) a role on a Cloud Storage bucket, and
 * removes it when the job goes away.
 *
 * <p>Read-modify-write with the policy etag; a concurrent change (HTTP 412/409) is retried a few
 * times at once, then reported as {@link IamResult.Retry}. Both methods are idempotent and keep
 * every other member.
 */
public class BucketIamBinder {

  private static final Logger log = LoggerFactory.getLogger(BucketIamBinder.class);
  static final int MAX_TRIES = 4;
  static final String PERMISSIONS = "storage.buckets.getIamPolicy and storage.buckets.setIamPolicy";

  private final Storage storage;

  public BucketIamBinder(Storage storage) {
    this.storage = storage;
  }

  /** Grants {@code roles/storage.objectUser} on the job's output bucket. */
  public IamResult grantOutput(String bucket, String principal) {
    return grant(bucket, WorkloadIdentityMembers.STORAGE_OBJECT_USER, principal);
  }

  /** Grants {@code roles/storage.objectViewer} on a dataset bucket. */
  public IamResult grantDataset(String bucket, String principal) {
    return grant(bucket, WorkloadIdentityMembers.STORAGE_OBJECT_VIEWER, principal);
  }

  public IamResult grant(String bucket, String role, String member) {
    return modify(bucket, role, member, true);
  }

  /** Removes only {@code member} from {@code role} (the binding too if it becomes empty). */
  public IamResult revoke(String bucket, String role, String member) {
    return modify(bucket, role, member, false);
  }

  private IamResult modify(String bucket, String role, String member, boolean add) {
    String target = (add ? "granting " : "revoking ") + role + " on bucket " + bucket;
    StorageException last = null;
    for (int attempt = 1; attempt <= MAX_TRIES; attempt++) {
      try {
        Policy current =
            storage.getIamPolicy(bucket, Storage.BucketSourceOption.requestedPolicyVersion(3));
        Policy updated = add ? add(current, role, member) : remove(current, role, member);
        if (updated == null) {
          return new IamResult.Done(false);
        }
        storage.setIamPolicy(bucket, updated);
        log.info("{} for {}", target, member);
        return new IamResult.Done(true);
      } catch (StorageException e) {
        if (e.getCode() == 412 || e.getCode() == 409) {
          last = e;
          log.debug("Concurrent IAM change on bucket {} (try {})", bucket, attempt);
          continue;
        }
        return map(e, target);
      }
    }
    return new IamResult.Retry(
        "ConcurrentModification",
        "The IAM policy of bucket "
            + bucket
            + " kept changing concurrently ("
            + MAX_TRIES
            + " tries, last: "
            + last.getMessage()
            + "); will retry.",
        Duration.ofSeconds(5));
  }

  private static IamResult map(StorageException e, String target) {
    int code = e.getCode();
    if (code == 401 || code == 403) {
      return new IamResult.Failed(
          "PermissionDenied",
          "The operator's Google service account needs "
              + PERMISSIONS
              + " for "
              + target
              + " ("
              + e.getMessage()
              + "); see docs/gcp-permissions.md.");
    }
    if (code == 404) {
      return new IamResult.Failed("NotFound", target + " failed: bucket not found");
    }
    if (code == 400) {
      return new IamResult.Failed("InvalidArgument", target + " was rejected: " + e.getMessage());
    }
    return new IamResult.Retry(
        "Transient",
        target + " failed (HTTP " + code + ": " + e.getMessage() + "); will retry.",
        Duration.ofSeconds(15));
  }

  static Policy add(Policy p, String role, String member) {
    List<Binding> bindings = new ArrayList<>(p.getBindingsList());
    for (int i = 0; i < bindings.size(); i++) {
      Binding b = bindings.get(i);
      if (b.getRole().equals(role) && b.getCondition() == null) {
        if (b.getMembers().contains(member)) {
          return null;
        }
        bindings.set(i, b.toBuilder().addMembers(member).build());
        return p.toBuilder().setBindings(bindings).build();
      }
    }
    bindings.add(Binding.newBuilder().setRole(role).setMembers(List.of(member)).build());
    return p.toBuilder().setBindings(bindings).build();
  }

  static Policy remove(Policy p, String role, String member) {
    List<Binding> bindings = new ArrayList<>();
    boolean changed = false;
    for (Binding b : p.getBindingsList()) {
      if (b.getRole().equals(role) && b.getCondition() == null && b.getMembers().contains(member)) {
        changed = true;
        List<String> members = new ArrayList<>(b.getMembers());
        members.remove(member);
        if (!members.isEmpty()) {
          bindings.add(b.toBuilder().setMembers(members).build());
        }
      } else {
        bindings.add(b);
      }
    }
    return changed ? p.toBuilder().setBindings(bindings).build() : null;
  }
}
