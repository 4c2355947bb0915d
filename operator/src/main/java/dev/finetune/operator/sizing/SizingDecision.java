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
 */
public record SizingDecision(
    Accelerator accelerator,
    int count,
    String machineType,
    boolean spot,
    MemoryEstimate estimate,
    double usdPerHour,
    String reason) {

  /** The node pool shape to ensure for this decision. */
  public PoolShape poolShape() {
    return PoolShape.of(accelerator, count, spot);
  }
}
