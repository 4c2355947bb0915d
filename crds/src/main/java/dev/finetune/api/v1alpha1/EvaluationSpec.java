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
  @Size(min = 1, max = 4)
  @JsonPropertyDescription(
      "ROUGE variants to compute, identical to Google's rouge-score: rouge1, rouge2, rougeL,"
          + " rougeLsum.")
  public List<Metric> metrics;

  @Default("true")
  @JsonPropertyDescription(
      "Also score the base model before training, so status shows the improvement.")
  public Boolean baseline;

  @JsonPropertyDescription(
      "Pass/fail gate. The job fails with QualityGateFailed when the tuned model misses it.")
  public GateSpec gate;

  /** ROUGE variants, named as Google's rouge-score names them. */
  public enum Metric {
    @JsonProperty("rouge1")
    ROUGE1("rouge1"),
    @JsonProperty("rouge2")
    ROUGE2("rouge2"),
    @JsonProperty("rougeL")
    ROUGE_L("rougeL"),
    @JsonProperty("rougeLsum")
    ROUGE_LSUM("rougeLsum");

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
    @JsonPropertyDescription("Lowest acceptable tuned F-measure (0-1).")
    public Double minScore;

    @Min(-1)
    @Max(1)
    @JsonPropertyDescription(
        "Lowest acceptable tuned minus baseline F-measure (-1 to 1); needs baseline: true.")
    public Double minImprovement;
  }
}
