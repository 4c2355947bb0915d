package dev.finetune.operator.tenancy;

import dev.finetune.api.v1alpha1.EvaluationSpec;
import dev.finetune.api.v1alpha1.FineTuneJob;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;

/**
 * The JSON Schema of a job's {@code jsonSchema} metric: {@code evaluation.jsonSchemaRef}, read from
 * the job's own namespace only (a job never names a ConfigMap of another tenant).
 */
public final class JobJsonSchemas {
  private JobJsonSchemas() {}

  /** Reads the schema text; the message of a failure names the ConfigMap and key. */
  @FunctionalInterface
  public interface Source {
    String read() throws IOException;
  }

  /** A ConfigMap or key that is not there, or not readable; the message says which. */
  public static final class Unavailable extends IOException {
    private static final long serialVersionUID = 1L;

    public Unavailable(String message) {
      super(message);
    }
  }

  public static Source forJob(KubernetesClient client, FineTuneJob job) {
    EvaluationSpec.ConfigMapKeyRef ref =
        job.getSpec().evaluation == null ? null : job.getSpec().evaluation.jsonSchemaRef;
    String ns = job.getMetadata().getNamespace();
    return () -> {
      if (ref == null || ref.name == null) {
        throw new Unavailable("evaluation.jsonSchemaRef is not set");
      }
      String key = ref.key == null ? "schema.json" : ref.key;
      String where = "ConfigMap " + ns + "/" + ref.name;
      if (client == null) {
        throw new Unavailable("no Kubernetes client to read " + where);
      }
      ConfigMap cm;
      try {
        cm = client.configMaps().inNamespace(ns).withName(ref.name).get();
      } catch (KubernetesClientException e) {
        if (e.getCode() == 403) {
          throw new Unavailable(
              "the operator may not read " + where + " (evaluation.jsonSchemaRef)");
        }
        throw new IOException("reading " + where + " failed: HTTP " + e.getCode());
      }
      if (cm == null) {
        throw new Unavailable(where + " (evaluation.jsonSchemaRef) not found");
      }
      String text = cm.getData() == null ? null : cm.getData().get(key);
      if (text == null || text.isBlank()) {
        throw new Unavailable(where + " has no key \"" + key + "\" (evaluation.jsonSchemaRef)");
      }
      return text;
    };
  }
}
