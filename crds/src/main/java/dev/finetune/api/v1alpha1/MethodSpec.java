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

/** LoRA or QLoRA settings. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class MethodSpec {
  @Default("lora")
  @JsonPropertyDescription(
      "lora: adapters on a bf16 base model. qlora: adapters on a 4-bit NF4 base model (less"
          + " memory; needs bf16-capable GPUs).")
  public Type type;

  @Default("16")
  @Min(1)
  @Max(256)
  @JsonPropertyDescription("LoRA rank r (1-256).")
  public Integer rank;

  @Default("32")
  @Min(value = 0, inclusive = false)
  @Max(1024)
  @JsonPropertyDescription("LoRA alpha; the adapter is scaled by alpha/rank.")
  public Double alpha;

  @Default("0.05")
  @Min(0)
  @Max(value = 1, inclusive = false)
  @JsonPropertyDescription("Dropout on the LoRA path (0 <= dropout < 1).")
  public Double dropout;

  @Default("[\"all-linear\"]")
  @Size(min = 1, max = 64)
  @ValidationRule(
      value = "self.all(m, size(m) > 0)",
      message = "method.targetModules must list at least one non-empty module name")
  @JsonPropertyDescription(
      "Modules that get adapters: all-linear, or names such as q_proj, v_proj.")
  public List<String> targetModules;

  /** Fine-tuning methods. */
  public enum Type {
    @JsonProperty("lora")
    LORA,
    @JsonProperty("qlora")
    QLORA;

    public String wireName() {
      return this == LORA ? "lora" : "qlora";
    }
  }
}
