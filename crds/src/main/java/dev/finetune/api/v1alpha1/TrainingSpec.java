package dev.finetune.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;

/** Training loop settings. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TrainingSpec {
  @Default("3")
  @Min(1)
  @Max(100)
  @JsonPropertyDescription("Passes over the training data (1-100).")
  public Integer epochs;

  @Default("0.0002")
  @Min(value = 0, inclusive = false)
  @Max(1)
  @JsonPropertyDescription("Peak learning rate (0 < lr <= 1), with linear warmup and decay.")
  public Double learningRate;

  @Default("4")
  @Min(1)
  @Max(1024)
  @JsonPropertyDescription("Examples per GPU per step (micro-batch, 1-1024).")
  public Integer batchSize;

  @Default("1")
  @Min(1)
  @Max(1024)
  @JsonPropertyDescription("Micro-batches accumulated per optimizer step (1-1024).")
  public Integer gradientAccumulation;

  @Default("2048")
  @Min(16)
  @Max(131072)
  @JsonPropertyDescription("Longer examples are truncated to this many tokens (16-131072).")
  public Integer maxSequenceLength;

  @Default("42")
  @Min(0)
  @JsonPropertyDescription("Random seed; the same seed gives the same run.")
  public Long seed;

  @Default("100")
  @Min(1)
  @JsonPropertyDescription(
      "Save a resumable checkpoint every this many optimizer steps (and on preemption).")
  public Integer checkpointEverySteps;
}
