package dev.finetune.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** Training and evaluation data. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class DatasetSpec {
  static final String GS_OBJECT = "self.matches('^gs://[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]/.+$')";

  @Required
  @Size(max = 1024)
  @ValidationRule(
      value = GS_OBJECT,
      message = "dataset.train must be a Cloud Storage object gs://bucket/path/train.jsonl")
  @JsonPropertyDescription("JSONL training data in Cloud Storage (gs://bucket/path/train.jsonl).")
  public String train;

  @Size(max = 1024)
  @ValidationRule(
      value = GS_OBJECT,
      message = "dataset.validation must be a Cloud Storage object gs://bucket/path/eval.jsonl")
  @JsonPropertyDescription(
      "JSONL held-out data for evaluation. When absent, validationSplit of train is held out.")
  public String validation;

  @Default("0.1")
  @Min(value = 0, inclusive = false)
  @Max(value = 0.5, inclusive = false)
  @JsonPropertyDescription(
      "Fraction of train held out for evaluation when validation is absent (0 < x < 0.5).")
  public Double validationSplit;

  @Default("auto")
  @JsonPropertyDescription(
      "Record format: auto (detected), prompt-completion ({prompt, completion}), messages"
          + " (chat {messages:[{role, content}]}) or gemini (Vertex AI tuning JSONL:"
          + " systemInstruction + contents[{role, parts[{text}]}]).")
  public Format format;

  /** JSONL record formats. */
  public enum Format {
    @JsonProperty("auto")
    AUTO,
    @JsonProperty("prompt-completion")
    PROMPT_COMPLETION,
    @JsonProperty("messages")
    MESSAGES,
    @JsonProperty("gemini")
    GEMINI;

    public String wireName() {
      return switch (this) {
        case AUTO -> "auto";
        case PROMPT_COMPLETION -> "prompt-completion";
        case MESSAGES -> "messages";
        case GEMINI -> "gemini";
      };
    }
  }
}
