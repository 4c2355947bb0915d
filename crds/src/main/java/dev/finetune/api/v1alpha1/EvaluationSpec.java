package dev.finetune.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/** Evaluation of base and tuned model, and the quality gate. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
    value = "!has(self.gate) || self.gate.metric in self.metrics",
    message = "evaluation.gate.metric must be one of evaluation.metrics")
@ValidationRule(
    value = "!has(self.gate) || !has(self.gate.minImprovement) || self.baseline",
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
  @ValidationRule(
      value = "size(self) > 0 && self.all(m, m in ['rouge1', 'rouge2', 'rougeL', 'rougeLsum'])",
      message = "evaluation.metrics may list rouge1, rouge2, rougeL and rougeLsum")
  @ValidationRule(
      value = "self.all(m, self.exists_one(n, n == m))",
      message = "evaluation.metrics must not repeat a metric")
  @JsonPropertyDescription(
      "ROUGE variants to compute, identical to Google's rouge-score: rouge1, rouge2, rougeL,"
          + " rougeLsum.")
  public List<String> metrics;

  @Default("true")
  @JsonPropertyDescription(
      "Also score the base model before training, so status shows the improvement.")
  public Boolean baseline;

  @JsonPropertyDescription(
      "Pass/fail gate. The job fails with QualityGateFailed when the tuned model misses it.")
  public GateSpec gate;

  /** Quality gate. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @ValidationRule(
      value = "has(self.minScore) || has(self.minImprovement)",
      message = "evaluation.gate needs minScore, minImprovement or both")
  public static class GateSpec {
    @Default("rougeL")
    @JsonPropertyDescription("Metric the gate looks at (one of evaluation.metrics).")
    public String metric;

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
