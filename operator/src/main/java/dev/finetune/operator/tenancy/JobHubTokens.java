package dev.finetune.operator.tenancy;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.ModelSpec;
import dev.finetune.operator.sizing.HubToken;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

/**
 * The Hugging Face token for a job's sizing read: the job's own {@code model.tokenSecretRef}, read
 * from the job's namespace; without one, the operator's token only where the namespace was opted in
 * ({@value TenantPolicy#OPERATOR_HF_TOKEN_ANNOTATION}: "true"); else none. Messages name the Secret
 * and key, never the value.
 */
public final class JobHubTokens {
  private JobHubTokens() {}

  public static HubToken.Resolver forJob(
      KubernetesClient client, FineTuneJob job, Map<String, String> nsAnnotations) {
    ModelSpec.SecretKeyRef ref =
        job.getSpec().model == null ? null : job.getSpec().model.tokenSecretRef;
    String ns = job.getMetadata().getNamespace();
    if (ref == null) {
      return TenantPolicy.operatorTokenAllowed(nsAnnotations)
          ? HubToken.OperatorWide::new
          : HubToken.None::new;
    }
    String key = ref.key == null ? "token" : ref.key;
    return () -> {
      Secret secret;
      try {
        secret = client.secrets().inNamespace(ns).withName(ref.name).get();
      } catch (KubernetesClientException e) {
        if (e.getCode() == 403) {
          throw new IOException(
              "the operator may not read Secret "
                  + ns
                  + "/"
                  + ref.name
                  + " (model.tokenSecretRef); a cluster admin binds ClusterRole"
                  + " finetune-operator-secret-reader in namespace "
                  + ns);
        }
        throw new IOException(
            "reading Secret " + ns + "/" + ref.name + " failed: HTTP " + e.getCode());
      }
      if (secret == null) {
        throw new IOException(
            "Secret " + ns + "/" + ref.name + " (model.tokenSecretRef) not found");
      }
      String encoded = secret.getData() == null ? null : secret.getData().get(key);
      if (encoded == null || encoded.isBlank()) {
        throw new IOException(
            "Secret " + ns + "/" + ref.name + " has no key \"" + key + "\" (model.tokenSecretRef)");
      }
      try {
        return new HubToken.Own(
            new String(Base64.getDecoder().decode(encoded.strip()), StandardCharsets.UTF_8)
                .strip());
      } catch (IllegalArgumentException e) {
        throw new IOException(
            "Secret " + ns + "/" + ref.name + " key \"" + key + "\" is not base64");
      }
    };
  }
}
