package dev.finetune.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** Desired state of a FineTuneJob. Immutable after creation. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
    value = "self == oldSelf",
    message =
        "spec is immutable: a FineTuneJob is one training run; create a new FineTuneJob (new name)"
            + " to train again")
@ValidationRule(
    value =
        "!(has(self.method) && has(self.method.type) && self.method.type == 'qlora' &&"
            + " has(self.hardware) && has(self.hardware.accelerator) &&"
            + " self.hardware.accelerator == 'nvidia-tesla-t4')",
    message =
        "method.type qlora needs bf16 (compute capability 8.0+); nvidia-tesla-t4 has none: use"
            + " method.type lora, or accelerator auto, nvidia-l4, nvidia-tesla-a100,"
            + " nvidia-a100-80gb or nvidia-h100-80gb")
public class FineTuneJobSpec {

  @Required
  @JsonPropertyDescription("The base model to fine-tune.")
  public ModelSpec model;

  @Required
  @JsonPropertyDescription(
      "Training and evaluation data: JSONL objects in Cloud Storage, validated before any GPU is"
          + " requested.")
  public DatasetSpec dataset;

  @Default("{}")
  @JsonPropertyDescription("The parameter-efficient fine-tuning method and its hyperparameters.")
  public MethodSpec method;

  @Default("{}")
  @JsonPropertyDescription("Training loop settings.")
  public TrainingSpec training;

  @Default("{}")
  @JsonPropertyDescription("GPU type, count, spot capacity and how node capacity is provisioned.")
  public HardwareSpec hardware;

  @Default("{}")
  @JsonPropertyDescription(
      "Google identity the trainer uses to read the data and write the output, without keys.")
  public IdentitySpec identity;

  @Default("{}")
  @JsonPropertyDescription(
      "Evaluation of the base and the tuned model on held-out data, and the quality gate.")
  public EvaluationSpec evaluation;

  @Size(max = 63)
  @ValidationRule(
      value = "self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",
      message =
          "queue must be the name of a Kueue LocalQueue in this namespace: a DNS-1123 label"
              + " (lowercase letters, digits and '-', at most 63 characters)")
  @JsonPropertyDescription(
      "Kueue LocalQueue (in this namespace) that admits the trainer: the trainer Job is created"
          + " suspended with the label kueue.x-k8s.io/queue-name, and starts when Kueue admits it"
          + " within the queue's quota. Unset: the trainer starts at once.")
  public String queue;

  @Required
  @Size(max = 1024)
  @ValidationRule(
      value = "self.matches('^gs://[a-z0-9][a-z0-9._-]{1,221}[a-z0-9](/.*)?$')",
      message =
          "output must be a Cloud Storage prefix gs://bucket/path/ (lowercase bucket name), where"
              + " the adapter, checkpoints, progress and predictions are written")
  @JsonPropertyDescription(
      "Cloud Storage prefix (gs://bucket/path/) for adapter/, checkpoints/, progress.json,"
          + " predictions/ and manifest.json.")
  public String output;
}
