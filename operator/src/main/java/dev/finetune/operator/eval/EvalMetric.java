package dev.finetune.operator.eval;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The metrics the operator computes, named as in {@code evaluation.metrics}: ROUGE F-measures and
 * the structured-output metrics of {@link JsonMetrics}. Each is reported as the mean over examples.
 */
public enum EvalMetric {
  ROUGE1("rouge1", RougeType.ROUGE1),
  ROUGE2("rouge2", RougeType.ROUGE2),
  ROUGE_L("rougeL", RougeType.ROUGE_L),
  ROUGE_LSUM("rougeLsum", RougeType.ROUGE_LSUM),
  EXACT_MATCH("exactMatch", null),
  JSON_VALID("jsonValid", null),
  JSON_FIELD_MATCH("jsonFieldMatch", null),
  JSON_SCHEMA("jsonSchema", null);

  private final String id;
  private final RougeType rouge;

  EvalMetric(String id, RougeType rouge) {
    this.id = id;
    this.rouge = rouge;
  }

  public String id() {
    return id;
  }

  /** The ROUGE type for ROUGE metrics, else {@code null}. */
  public RougeType rougeType() {
    return rouge;
  }

  /** Parses a metric name ({@code rougeL}, {@code jsonValid}, ...). */
  public static EvalMetric fromId(String name) {
    for (EvalMetric m : values()) {
      if (m.id.equals(name) || m.name().equals(name)) {
        return m;
      }
    }
    throw new IllegalArgumentException(
        "unknown metric: "
            + name
            + " (expected one of "
            + Arrays.stream(values()).map(EvalMetric::id).collect(Collectors.joining(", "))
            + ")");
  }

  @Override
  public String toString() {
    return id;
  }
}
