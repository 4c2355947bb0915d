package dev.finetune.operator.sizing;

import dev.finetune.operator.gcp.nodepool.Accelerator;
import dev.finetune.operator.gcp.nodepool.PoolShape;

/**
 * The accelerator chosen for a job.
 *
 * @param accelerator GPU type
 * @param count GPUs on the node
 * @param machineType Compute Engine machine type
 * @param spot whether priced (and to be provisioned) as Spot
 * @param estimate memory per GPU
 * @param usdPerHour node price per hour
 * @param reason one line for status and logs
 * @param strategy how the trainer spreads the job over the GPUs: DDP replicas, or FSDP shards for a
 *     model no single GPU holds
 */
public record SizingDecision(
    Accelerator accelerator,
    int count,
    String machineType,
    boolean spot,
    MemoryEstimate estimate,
    double usdPerHour,
    String reason,
    Strategy strategy) {

  /** A DDP decision. */
  public SizingDecision(
      Accelerator accelerator,
      int count,
      String machineType,
      boolean spot,
      MemoryEstimate estimate,
      double usdPerHour,
      String reason) {
    this(accelerator, count, machineType, spot, estimate, usdPerHour, reason, Strategy.DDP);
  }

  /** The node pool shape to ensure for this decision. */
  public PoolShape poolShape() {
    return PoolShape.of(accelerator, count, spot);
  }
}
