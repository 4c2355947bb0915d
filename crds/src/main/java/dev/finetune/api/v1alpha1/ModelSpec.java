package dev.finetune.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** The base model. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ModelSpec {
  @Required
  @Size(min = 1, max = 1024)
  @ValidationRule(
      value =
          "self.matches('^hf://[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$') ||"
              + " self.matches('^gs://[a-z0-9][a-z0-9._-]{1,221}[a-z0-9](/.*)?$') ||"
              + " self.startsWith('/')",
      message =
          "model.source must be hf://org/name (Hugging Face), gs://bucket/path/ (a model directory"
              + " in Cloud Storage) or an absolute local path")
  @JsonPropertyDescription(
      "Where the base model comes from: hf://org/name, gs://bucket/path/ or an absolute path"
          + " inside the trainer image (local executor).")
  public String source;

  @Default("main")
  @Size(max = 255)
  @ValidationRule(
      value = "self.matches('^[A-Za-z0-9._/-]{1,255}$')",
      message = "model.revision must be a branch, tag or commit hash")
  @JsonPropertyDescription(
      "Branch, tag or commit of an hf:// model. The resolved commit is recorded in"
          + " status.output and manifest.json.")
  public String revision;

  @JsonPropertyDescription(
      "Secret in the job's namespace holding a Hugging Face token, for gated models.")
  public SecretKeyRef tokenSecretRef;

  @Size(max = 16)
  @ValidationRule(
      value = "self.matches('^[0-9]+(\\\\.[0-9]+)?[MB]$')",
      message = "model.parameters must look like 270M, 1.5B or 7B")
  @JsonPropertyDescription(
      "Parameter count hint used for accelerator sizing when config.json cannot be read, for"
          + " example 7B or 270M.")
  public String parameters;

  /** Reference to one key of a Secret. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class SecretKeyRef {
    @Required
    @JsonPropertyDescription("Name of the Secret in the FineTuneJob's namespace.")
    public String name;

    @Default("token")
    @JsonPropertyDescription("Key in the Secret that holds the token.")
    public String key;
  }
}
