package dev.finetune.operator.gcp.nodepool;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * GPU accelerators the operator can provision on GKE, with the machine family GKE attaches them to.
 *
 * <p>Precision support: T4 (Turing, sm_75) has no native bfloat16, so it is not offered for LoRA in
 * bf16; it does run bitsandbytes 4-bit (QLoRA) with an fp16 compute dtype, so it is offered for
 * QLoRA. All other accelerators here (Ampere, Ada, Hopper) support both.
 */
public enum Accelerator {
  NVIDIA_L4(
      "nvidia-l4",
      "l4",
      23_034,
      true,
      Map.of(1, "g2-standard-4", 2, "g2-standard-24", 4, "g2-standard-48", 8, "g2-standard-96")),
  NVIDIA_TESLA_T4(
      "nvidia-tesla-t4",
      "t4",
      15_360,
      false,
      Map.of(1, "n1-standard-8", 2, "n1-standard-16", 4, "n1-standard-32")),
  NVIDIA_TESLA_A100(
      "nvidia-tesla-a100",
      "a100",
      40_960,
      true,
      Map.of(1, "a2-highgpu-1g", 2, "a2-highgpu-2g", 4, "a2-highgpu-4g", 8, "a2-highgpu-8g")),
  NVIDIA_A100_80GB(
      "nvidia-a100-80gb",
      "a100-80",
      81_920,
      true,
      Map.of(1, "a2-ultragpu-1g", 2, "a2-ultragpu-2g", 4, "a2-ultragpu-4g", 8, "a2-ultragpu-8g")),
  NVIDIA_H100_80GB(
      "nvidia-h100-80gb",
      "h100",
      81_559,
      true,
      Map.of(1, "a3-highgpu-1g", 2, "a3-highgpu-2g", 4, "a3-highgpu-4g", 8, "a3-highgpu-8g"));

  /** GPU counts per node the operator provisions. */
  public static final List<Integer> GPU_COUNTS = List.of(1, 2, 4, 8);

  private final String id;
  private final String shortName;
  private final int memoryMiB;
  private final boolean bf16;
  private final Map<Integer, String> machineTypes;

  Accelerator(
      String id, String shortName, int memoryMiB, boolean bf16, Map<Integer, String> machineTypes) {
    this.id = id;
    this.shortName = shortName;
    this.memoryMiB = memoryMiB;
    this.bf16 = bf16;
    this.machineTypes = machineTypes;
  }

  /** The GKE accelerator type, e.g. {@code nvidia-l4}. */
  public String id() {
    return id;
  }

  /** Short form used in pool names and labels, e.g. {@code l4}. */
  public String shortName() {
    return shortName;
  }

  /** Usable device memory as reported by nvidia-smi, in MiB. */
  public int memoryMiB() {
    return memoryMiB;
  }

  public double memoryGiB() {
    return memoryMiB / 1024.0;
  }

  /** Marketing size in GB, e.g. 24 for L4. */
  public int nominalGb() {
    return switch (this) {
      case NVIDIA_L4 -> 24;
      case NVIDIA_TESLA_T4 -> 16;
      case NVIDIA_TESLA_A100 -> 40;
      case NVIDIA_A100_80GB, NVIDIA_H100_80GB -> 80;
    };
  }

  /** Whether the GPU computes natively in bfloat16 (needed for LoRA in bf16). */
  public boolean supportsBf16() {
    return bf16;
  }

  /** Whether bitsandbytes 4-bit (QLoRA) runs on this GPU. True for every accelerator here. */
  public boolean supportsBnb4bit() {
    return true;
  }

  /** Whether GKE offers a node with {@code count} of these GPUs. */
  public boolean offersCount(int count) {
    return machineTypes.containsKey(count);
  }

  /**
   * The Compute Engine machine type carrying {@code count} GPUs.
   *
   * @throws IllegalArgumentException when GKE has no such machine
   */
  public String machineType(int count) {
    String mt = machineTypes.get(count);
    if (mt == null) {
      throw new IllegalArgumentException(
          id
              + " is not offered with "
              + count
              + " GPUs per node; supported counts: "
              + machineTypes.keySet().stream().sorted().toList());
    }
    return mt;
  }

  /** Parses a GKE accelerator type such as {@code nvidia-l4} (case-insensitive). */
  public static Accelerator fromId(String id) {
    if (id != null) {
      String norm = id.trim().toLowerCase(Locale.ROOT);
      for (Accelerator a : values()) {
        if (a.id.equals(norm) || a.shortName.equals(norm)) {
          return a;
        }
      }
    }
    throw new IllegalArgumentException(
        "unsupported accelerator \""
            + id
            + "\"; supported: "
            + Arrays.stream(values()).map(Accelerator::id).collect(Collectors.joining(", ")));
  }
}
