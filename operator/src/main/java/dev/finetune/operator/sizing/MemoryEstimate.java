package dev.finetune.operator.sizing;

import java.util.Locale;

/**
 * Estimated GPU memory per GPU, in GiB.
 *
 * @param weightsGiB base model weights (bf16, or NF4 plus bf16 embeddings for QLoRA) held by each
 *     GPU: all of them with DDP, a 1/N shard with FSDP
 * @param adaptersGiB LoRA adapters in fp32 with their gradients and Adam moments (a 1/N shard with
 *     FSDP)
 * @param activationsGiB saved activations with gradient checkpointing, one layer's recompute
 *     working set, logits and loss, and (QLoRA) one layer's dequantised weights; never sharded
 * @param overheadGiB CUDA context and library workspaces, NCCL buffers with several GPUs, plus
 *     allocator fragmentation
 * @param gradientsGiB FSDP only: gradient memory of the frozen weights (a 1/N shard) and the
 *     unsharded gradient of one decoder layer before its reduce-scatter; 0 with DDP
 * @param gatheredGiB FSDP only: all-gathered weights, two decoder layers (the one running and the
 *     one prefetched) plus the root unit (embeddings and output head); 0 with DDP
 * @param strategy DDP or FSDP
 * @param gpus GPUs the job runs on (the shard count with FSDP)
 */
public record MemoryEstimate(
    double weightsGiB,
    double adaptersGiB,
    double activationsGiB,
    double overheadGiB,
    double gradientsGiB,
    double gatheredGiB,
    Strategy strategy,
    int gpus) {

  /** A DDP estimate on one GPU (every GPU holds a full replica). */
  public MemoryEstimate(
      double weightsGiB, double adaptersGiB, double activationsGiB, double overheadGiB) {
    this(weightsGiB, adaptersGiB, activationsGiB, overheadGiB, 0, 0, Strategy.DDP, 1);
  }

  public double totalGiB() {
    return weightsGiB + adaptersGiB + activationsGiB + overheadGiB + gradientsGiB + gatheredGiB;
  }

  public double totalGB() {
    return totalGiB() * MemoryEstimator.GIB / 1e9;
  }

  /**
   * e.g. {@code weights 12.6, adapters+optimizer 0.6, activations 2.1, overhead 2.5}; with FSDP
   * also the frozen-weight gradients and the all-gather buffers.
   */
  public String breakdown() {
    if (strategy == Strategy.FSDP) {
      return String.format(
          Locale.ROOT,
          "weights %.1f (1/%d), frozen-weight gradients %.1f, adapters+optimizer %.1f, all-gather"
              + " %.1f, activations %.1f, overhead %.1f",
          weightsGiB,
          gpus,
          gradientsGiB,
          adaptersGiB,
          gatheredGiB,
          activationsGiB,
          overheadGiB);
    }
    return String.format(
        Locale.ROOT,
        "weights %.1f, adapters+optimizer %.1f, activations %.1f, overhead %.1f",
        weightsGiB,
        adaptersGiB,
        activationsGiB,
        overheadGiB);
  }
}
