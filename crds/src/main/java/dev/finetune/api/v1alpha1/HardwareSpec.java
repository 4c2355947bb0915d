package dev.finetune.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** GPU type and count, and how capacity is provisioned. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
    value =
        "!(has(self.accelerator) && has(self.count) && self.accelerator == 'nvidia-tesla-t4'"
            + " && self.count == 8)",
    message = "nvidia-tesla-t4 is offered with 1, 2 or 4 GPUs per node, not 8")
public class HardwareSpec {
  @Default("auto")
  @JsonPropertyDescription(
      "GPU type. auto picks the cheapest GPU that fits the model and method and writes the reason"
          + " into status.hardware.")
  public Accelerator accelerator;

  @Default("1")
  @ValidationRule(
      value = "self in [1, 2, 4, 8]",
      message = "hardware.count must be 1, 2, 4 or 8 GPUs")
  @JsonPropertyDescription("GPUs for the trainer (1, 2, 4 or 8, on one node).")
  public Integer count;

  @Default("1")
  @ValidationRule(
      value = "self >= 1 && self <= 16",
      message =
          "hardware.nodes must be between 1 and 16: the number of nodes (one trainer pod each, with"
              + " hardware.count GPUs) that train together")
  @JsonPropertyDescription(
      "Nodes that train together, one trainer pod each with hardware.count GPUs (1 to 16). Above 1"
          + " the pods of an Indexed Job meet over a headless Service; GPU hours and cost count"
          + " every pod.")
  public Integer nodes;

  @Default("true")
  @JsonPropertyDescription(
      "Use spot capacity (much cheaper; the trainer resumes from its last checkpoint when"
          + " preempted).")
  public Boolean spot;

  @Default("managed")
  @JsonPropertyDescription(
      "managed: the operator keeps one GKE node pool per shape, scaled from zero. existing: use"
          + " node pools you created, labelled cloud.google.com/gke-accelerator. autoprovision:"
          + " rely on GKE node auto-provisioning or Autopilot. computeClass: a GKE ComputeClass"
          + " for this shape whose priority list (reservations, spot, on-demand, flex-start) the"
          + " cluster admin sets in the operator's configuration; spot is then decided by that"
          + " list, not by hardware.spot. flexStart: Dynamic Workload Scheduler (a"
          + " ProvisioningRequest of class queued-provisioning.gke.io); the trainer Job waits"
          + " suspended until GKE has provisioned all its nodes, runs for at most maxRuntime on"
          + " flex-start VMs, and hardware.spot is not used. With spec.queue, Kueue makes the"
          + " ProvisioningRequest and admits the Job instead.")
  public Provisioning provisioning;

  @Default("24h")
  @Size(max = 32)
  @ValidationRule(
      value = "self.matches('^([0-9]+h)?([0-9]+m)?([0-9]+s)?$') && self != ''",
      message = "hardware.maxRuntime must be a duration such as 90m, 6h or 1h30m")
  @JsonPropertyDescription(
      "Deadline for the training Job (activeDeadlineSeconds), such as 6h or 1h30m.")
  public String maxRuntime;

  /** GPU types, named as GKE names them. */
  public enum Accelerator {
    @JsonProperty("auto")
    AUTO("auto"),
    @JsonProperty("nvidia-l4")
    NVIDIA_L4("nvidia-l4"),
    @JsonProperty("nvidia-tesla-t4")
    NVIDIA_TESLA_T4("nvidia-tesla-t4"),
    @JsonProperty("nvidia-tesla-a100")
    NVIDIA_TESLA_A100("nvidia-tesla-a100"),
    @JsonProperty("nvidia-a100-80gb")
    NVIDIA_A100_80GB("nvidia-a100-80gb"),
    @JsonProperty("nvidia-h100-80gb")
    NVIDIA_H100_80GB("nvidia-h100-80gb");

    private final String wireName;

    Accelerator(String wireName) {
      this.wireName = wireName;
    }

    public String wireName() {
      return wireName;
    }

    public static Accelerator fromWireName(String name) {
      for (Accelerator a : values()) {
        if (a.wireName.equals(name)) {
          return a;
        }
      }
      throw new IllegalArgumentException("unknown accelerator " + name);
    }
  }

  /** How GPU node capacity is provided. */
  public enum Provisioning {
    @JsonProperty("managed")
    MANAGED,
    @JsonProperty("existing")
    EXISTING,
    @JsonProperty("autoprovision")
    AUTOPROVISION,
    @JsonProperty("computeClass")
    COMPUTE_CLASS,
    @JsonProperty("flexStart")
    FLEX_START
  }
}
