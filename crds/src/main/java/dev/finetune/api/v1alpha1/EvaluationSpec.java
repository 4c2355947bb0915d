package dev.finetune.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/** Evaluation of base and tuned model, and the quality gate. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
    value = "!has(self.gate) || !has(self.metrics) || self.gate.metric in self.metrics",
    message = "evaluation.gate.metric must be one of evaluation.metrics")
@ValidationRule(
    value =
        "!has(self.gate) || !has(self.gate.minImprovement) || !has(self.baseline) ||"
            + " self.baseline",
    message = "evaluation.gate.minImprovement needs evaluation.baseline: true")
@ValidationRule(
    value =
        "!has(self.gate) || !has(self.gate.requireSignificant) || !self.gate.requireSignificant"
            + " || !has(self.baseline) || self.baseline",
    message = "evaluation.gate.requireSignificant needs evaluation.baseline: true")
@ValidationRule(
    value = "!has(self.metrics) || !('jsonSchema' in self.metrics) || has(self.jsonSchemaRef)",
    message = "evaluation.metrics jsonSchema needs evaluation.jsonSchemaRef (a ConfigMap key)")
public class EvaluationSpec {
  @Default("200")
  @Min(1)
  @Max(100000)
  @JsonPropertyDescription("Held-out examples to generate and score (1-100000).")
  public Integer maxExamples;

  @Default("256")
  @Min(1)
  @Max(8192)
  @JsonPropertyDescription("Tokens generated per example (1-8192).")
  public Integer maxNewTokens;

  @Default("[\"rouge1\", \"rouge2\", \"rougeL\", \"rougeLsum\"]")
  @Size(min = 1, max = 8)
  @JsonPropertyDescription(
      "Metrics to compute, each the mean over examples: rouge1, rouge2, rougeL, rougeLsum"
          + " (F-measure, identical to Google's rouge-score); exactMatch (prediction equals the"
          + " reference after trimming whitespace); jsonValid (the whole prediction is one JSON"
          + " document); jsonFieldMatch (F1 of the prediction's JSON leaf values against the"
          + " reference's; examples whose reference is not JSON are counted, not scored);"
          + " jsonSchema (the prediction validates against evaluation.jsonSchemaRef).")
  public List<Metric> metrics;

  @JsonPropertyDescription(
      "JSON Schema (draft 2020-12) the jsonSchema metric validates predictions against: a key of"
          + " a ConfigMap in the FineTuneJob's namespace.")
  public ConfigMapKeyRef jsonSchemaRef;

  @Default("true")
  @JsonPropertyDescription(
      "Also score the base model before training, so status shows the improvement.")
  public Boolean baseline;

  @JsonPropertyDescription(
      "Pass/fail gate. The job fails with QualityGateFailed when the tuned model misses it.")
  public GateSpec gate;

  /** Reference to one key of a ConfigMap in the FineTuneJob's namespace. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class ConfigMapKeyRef {
    @io.fabric8.generator.annotation.Required
    @JsonPropertyDescription("Name of the ConfigMap in the FineTuneJob's namespace.")
    public String name;

    @Default("schema.json")
    @JsonPropertyDescription("Key in the ConfigMap that holds the schema.")
    public String key;
  }

  /** Metrics: ROUGE variants named as Google's rouge-score names them, and structured output. */
  public enum Metric {
    @JsonProperty("rouge1")
    ROUGE1("rouge1"),
    @JsonProperty("rouge2")
    ROUGE2("rouge2"),
    @JsonProperty("rougeL")
    ROUGE_L("rougeL"),
    @JsonProperty("rougeLsum")
    ROUGE_LSUM("rougeLsum"),
    @JsonProperty("exactMatch")
    EXACT_MATCH("exactMatch"),
    @JsonProperty("jsonValid")
    JSON_VALID("jsonValid"),
    @JsonProperty("jsonFieldMatch")
    JSON_FIELD_MATCH("jsonFieldMatch"),
    @JsonProperty("jsonSchema")
    JSON_SCHEMA("jsonSchema");

    private final String id;

    Metric(String id) {
      this.id = id;
    }

    public String id() {
      return id;
    }
  }

  /** Quality gate. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @ValidationRule(
      value = "has(self.minScore) || has(self.minImprovement)",
      message = "evaluation.gate needs minScore, minImprovement or both")
  public static class GateSpec {
    @Default("rougeL")
    @JsonPropertyDescription("Metric the gate looks at (one of evaluation.metrics).")
    public Metric metric;

    @Min(0)
    @Max(1)
    @JsonPropertyDescription("Lowest acceptable tuned score (0-1).")
    public Double minScore;

    @Min(-1)
    @Max(1)
    @JsonPropertyDescription(
        "Lowest acceptable tuned minus baseline score (-1 to 1); needs baseline: true.")
    public Double minImprovement;

    @JsonPropertyDescription(
        "Pass only when the lower end of the 95% paired-bootstrap interval of tuned minus"
            + " baseline is above minImprovement (0 when unset), so an improvement that could be"
            + " chance does not pass; needs baseline: true.")
    public Boolean requireSignificant;
  }
}
