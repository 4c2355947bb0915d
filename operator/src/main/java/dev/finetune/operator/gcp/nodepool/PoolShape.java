package dev.finetune.operator.gcp.nodepool;

import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The kind of GPU node a job needs. The pool name and label value are derived from it, so one shape
 * maps to exactly one managed pool.
 *
 * @param accelerator GKE accelerator type: nvidia-l4, nvidia-tesla-t4, nvidia-tesla-a100,
 *     nvidia-a100-80gb or nvidia-h100-80gb
 * @param gpusPerNode 1, 2, 4 or 8 (T4: 1, 2 or 4)
 * @param spot whether the pool uses Spot VMs
 */
public record PoolShape(String accelerator, int gpusPerNode, boolean spot) {

  private static final Pattern LABEL = Pattern.compile("([a-z0-9-]+?)-x(\\d+)(-spot)?");

  public PoolShape {
    Accelerator a = Accelerator.fromId(accelerator);
    accelerator = a.id();
    if (!a.offersCount(gpusPerNode)) {
      throw new IllegalArgumentException(
          "GKE does not offer "
              + a.id()
              + " with "
              + gpusPerNode
              + " GPUs per node; choose one of "
              + Accelerator.GPU_COUNTS.stream().filter(a::offersCount).toList());
    }
    if (a == Accelerator.NVIDIA_H100_80GB && gpusPerNode < 8 && !spot) {
      throw new IllegalArgumentException(
          "a3-highgpu-"
              + gpusPerNode
              + "g (nvidia-h100-80gb x"
              + gpusPerNode
              + ") is offered only as Spot (or flex-start) capacity; request spot or 8 GPUs"
              + " per node");
    }
  }

  public static PoolShape of(Accelerator accelerator, int gpusPerNode, boolean spot) {
    return new PoolShape(accelerator.id(), gpusPerNode, spot);
  }

  public Accelerator acceleratorType() {
    return Accelerator.fromId(accelerator);
  }

  /** Compute Engine machine type, e.g. {@code g2-standard-4}. */
  public String machineType() {
    return acceleratorType().machineType(gpusPerNode);
  }

  /** Value of the {@code finetune.dev/pool-shape} label, e.g. {@code l4-x1-spot}. */
  public String labelValue() {
    return acceleratorType().shortName() + "-x" + gpusPerNode + (spot ? "-spot" : "");
  }

  /** Deterministic GKE node pool name, e.g. {@code ft-l4-x1-spot} (at most 40 characters). */
  public String poolName() {
    return "ft-" + labelValue();
  }

  /** Parses a {@link #labelValue()} back into a shape. */
  public static PoolShape fromLabelValue(String value) {
    Matcher m = LABEL.matcher(Objects.requireNonNull(value));
    if (!m.matches()) {
      throw new IllegalArgumentException("not a pool shape label: " + value);
    }
    return new PoolShape(m.group(1), Integer.parseInt(m.group(2)), m.group(3) != null);
  }
}
