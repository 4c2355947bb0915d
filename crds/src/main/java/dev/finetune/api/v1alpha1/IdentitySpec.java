package dev.finetune.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** Google identity of the trainer (Workload Identity, no keys). */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
    value = "!has(self.mode) || self.mode != 'serviceAccount' || has(self.gcpServiceAccount)",
    message =
        "identity.gcpServiceAccount is required with identity.mode serviceAccount (or set"
            + " identity.mode: direct to grant the job's own Kubernetes identity on the buckets)")
@ValidationRule(
    value = "!has(self.mode) || self.mode != 'direct' || !has(self.gcpServiceAccount)",
    message = "identity.gcpServiceAccount must not be set with identity.mode direct")
public class IdentitySpec {
  @Default("serviceAccount")
  @JsonPropertyDescription(
      "serviceAccount: classic Workload Identity, the job's Kubernetes service account"
          + " impersonates gcpServiceAccount. direct: Workload Identity Federation, the job's"
          + " Kubernetes identity itself is granted on the dataset and output buckets.")
  public Mode mode;

  @Size(max = 254)
  @ValidationRule(
      value =
          "self.matches('^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9.-]+\\\\.iam\\\\.gserviceaccount\\\\.com$')",
      message =
          "identity.gcpServiceAccount must be a Google service account email,"
              + " name@project.iam.gserviceaccount.com")
  @JsonPropertyDescription(
      "Google service account email the trainer runs as. The namespace must allow it in its"
          + " annotation finetune.dev/allowed-gcp-service-accounts.")
  public String gcpServiceAccount;

  /** Identity modes. */
  public enum Mode {
    @JsonProperty("serviceAccount")
    SERVICE_ACCOUNT,
    @JsonProperty("direct")
    DIRECT
  }
}
