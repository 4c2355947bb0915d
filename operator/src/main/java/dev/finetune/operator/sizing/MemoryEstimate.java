package dev.finetune.operator.sizing;

/**
 * Estimated GPU memory per GPU, in GiB.
 *
 * @param weightsGiB base model weights (bf16, or NF4 plus bf16 embeddings for QLoRA), on every GPU
 * @param adaptersGiB LoRA adapters in fp32 with their gradients and Adam moments, on every GPU
 * @param activationsGiB saved activations with gradient checkpointing, one layer's recompute
 *     working set, logits and loss, and (QLoRA) one layer's dequantised weights
 * @param overheadGiB CUDA context and library workspaces plus allocator fragmentation
 */
public record MemoryEstimate(
    double weightsGiB, double adaptersGiB, double activationsGiB, double overheadGiB) {

  public double totalGiB() {
    return weightsGiB + adaptersGiB + activationsGiB + overheadGiB;
  }

  public double totalGB() {
    return totalGiB() * MemoryEstimator.GIB / 1e9;
  }

  /** e.g. {@code weights 12.6, adapters+optimizer 0.6, activations 2.1, overhead 2.5}. */
  public String breakdown() {
    return String.format(
        java.util.Locale.ROOT,
        "weights %.1f, adapters+optimizer %.1f, activations %.1f, overhead %.1f",
        weightsGiB,
        adaptersGiB,
        activationsGiB,
        overheadGiB);
  }
}
