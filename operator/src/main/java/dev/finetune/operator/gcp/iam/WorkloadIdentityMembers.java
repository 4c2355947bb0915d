package dev.finetune.operator.gcp.iam;

/** IAM member strings for Kubernetes service accounts under GKE Workload Identity. */
public final class WorkloadIdentityMembers {
  private WorkloadIdentityMembers() {}

  /** Role that lets a Kubernetes service account impersonate a Google service account. */
  public static final String WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser";

  /** Role for the job's output bucket in direct mode. */
  public static final String STORAGE_OBJECT_USER = "roles/storage.objectUser";

  /** Role for dataset buckets in direct mode. */
  public static final String STORAGE_OBJECT_VIEWER = "roles/storage.objectViewer";

  /** Classic mode: {@code serviceAccount:PROJECT.svc.id.goog[NAMESPACE/KSA]}. */
  public static String classicMember(String project, String namespace, String ksa) {
    return "serviceAccount:" + project + ".svc.id.goog[" + namespace + "/" + ksa + "]";
  }

  /**
   * Direct mode (Workload Identity Federation for GKE): {@code
   * principal://iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/PROJECT.svc.id.goog/subject/ns/NAMESPACE/sa/KSA}.
   */
  public static String directPrincipal(
      String projectNumber, String project, String namespace, String ksa) {
    return "principal://iam.googleapis.com/projects/"
        + projectNumber
        + "/locations/global/workloadIdentityPools/"
        + project
        + ".svc.id.goog/subject/ns/"
        + namespace
        + "/sa/"
        + ksa;
  }

  /** IAM resource name of a Google service account. */
  public static String serviceAccountResource(String email) {
    return "projects/-/serviceAccounts/" + email;
  }
}
