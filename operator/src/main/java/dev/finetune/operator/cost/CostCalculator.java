package dev.finetune.operator.cost;

import dev.finetune.operator.gcp.nodepool.Accelerator;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/** GPU-hours and cost of a job from the intervals its pods ran. */
public final class CostCalculator {

  private CostCalculator() {}

  /**
   * One pod's run: [start, end). {@code end} null means still running.
   *
   * @param gpus GPUs the pod requested
   */
  public record PodInterval(String pod, Instant start, Instant end, int gpus) {
    public PodInterval {
      Objects.requireNonNull(start, "start");
      if (gpus < 0) {
        throw new IllegalArgumentException("gpus must be >= 0");
      }
    }
  }

  /**
   * @param gpuHours sum over pods of GPUs x run time
   * @param usd gpuHours priced per GPU-hour (GPU plus machine share)
   */
  public record CostReport(double gpuHours, double usd) {}

  /**
   * Sums {@code gpus x (end - start)} over the intervals (running ones end at {@code now}) and
   * prices it. Intervals ending before they start count as zero.
   */
  public static CostReport compute(
      List<PodInterval> intervals,
      Accelerator accelerator,
      boolean spot,
      PriceTable prices,
      Instant now) {
    double gpuSeconds = 0;
    for (PodInterval i : intervals) {
      Instant end = i.end() == null ? now : i.end();
      Duration d = Duration.between(i.start(), end);
      if (!d.isNegative()) {
        gpuSeconds += d.toMillis() / 1000.0 * i.gpus();
      }
    }
    double gpuHours = gpuSeconds / 3600.0;
    return new CostReport(gpuHours, gpuHours * prices.price(accelerator).perGpuHour(spot));
  }
}
