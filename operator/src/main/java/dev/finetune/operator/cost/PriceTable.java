package dev.finetune.operator.cost;

import dev.finetune.operator.gcp.nodepool.Accelerator;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * Hourly prices per GPU, split into the GPU itself and its share of the machine (vCPU, memory) it
 * runs on, for on-demand and Spot capacity.
 *
 * <p>Defaults are approximate us-central1 list prices in USD taken from
 * https://cloud.google.com/compute/gpus-pricing and
 * https://cloud.google.com/compute/vm-instance-pricing (G2, N1, A2, A3 families) as of 2025; Spot
 * prices move daily and vary by region. They are used for choosing the cheapest fit and for rough
 * cost reports only; override them per cluster (see {@link #withOverrides}) for billing-grade
 * numbers. docs/gcp-permissions.md repeats the table.
 *
 * <p>Flex-start (Dynamic Workload Scheduler) VMs are billed at Dynamic Workload Scheduler prices,
 * which https://cloud.google.com/products/dws/pricing gives as up to 53% below on-demand for GPUs,
 * vCPUs and memory; the defaults take the full 53% ({@link #FLEX_START_FACTOR} of the on-demand
 * price). A node that consumes a reservation is priced as on-demand (the reservation is paid at
 * on-demand rates whether used or not, less any committed-use discount).
 */
public final class PriceTable {

  /** Flex-start price as a share of the on-demand price (DWS: up to 53% off). */
  public static final double FLEX_START_FACTOR = 0.47;

  /** USD per GPU-hour. */
  public record Price(
      double gpuOnDemand,
      double gpuSpot,
      double vmOnDemand,
      double vmSpot,
      double gpuFlexStart,
      double vmFlexStart) {
    /** On-demand and Spot prices; flex-start at {@link #FLEX_START_FACTOR} of on-demand. */
    public Price(double gpuOnDemand, double gpuSpot, double vmOnDemand, double vmSpot) {
      this(
          gpuOnDemand,
          gpuSpot,
          vmOnDemand,
          vmSpot,
          round(gpuOnDemand * FLEX_START_FACTOR),
          round(vmOnDemand * FLEX_START_FACTOR));
    }

    public double perGpuHour(boolean spot) {
      return spot ? gpuSpot + vmSpot : gpuOnDemand + vmOnDemand;
    }

    /**
     * The price of the capacity a node is: {@code spot}, {@code flex-start}, else ({@code
     * on-demand}, {@code reservation}, unknown) on-demand.
     */
    public double perGpuHour(String capacity) {
      if ("spot".equals(capacity)) {
        return gpuSpot + vmSpot;
      }
      if ("flex-start".equals(capacity)) {
        return gpuFlexStart + vmFlexStart;
      }
      return gpuOnDemand + vmOnDemand;
    }

    private static double round(double usd) {
      return Math.round(usd * 10000.0) / 10000.0;
    }
  }

  private final Map<Accelerator, Price> prices;

  private PriceTable(Map<Accelerator, Price> prices) {
    this.prices = Map.copyOf(prices);
  }

  public static PriceTable defaults() {
    Map<Accelerator, Price> m = new EnumMap<>(Accelerator.class);
    // g2-standard-4 on-demand ~$0.71/h = L4 GPU ~$0.56 + VM share ~$0.15
    m.put(Accelerator.NVIDIA_L4, new Price(0.56, 0.22, 0.15, 0.06));
    // T4 ~$0.35/h; n1-standard-8 ~$0.38/h per GPU (n1-standard-16/32 for 2/4 GPUs)
    m.put(Accelerator.NVIDIA_TESLA_T4, new Price(0.35, 0.14, 0.38, 0.08));
    // a2-highgpu-1g ~$3.67/h = A100 40GB ~$2.93 + VM share ~$0.74
    m.put(Accelerator.NVIDIA_TESLA_A100, new Price(2.93, 1.17, 0.74, 0.30));
    // a2-ultragpu-1g ~$5.07/h = A100 80GB ~$3.93 + VM share ~$1.14
    m.put(Accelerator.NVIDIA_A100_80GB, new Price(3.93, 1.57, 1.14, 0.45));
    // a3-highgpu-8g ~$88/h, i.e. ~$11.03 per GPU = H100 ~$9.80 + VM share ~$1.23
    m.put(Accelerator.NVIDIA_H100_80GB, new Price(9.80, 2.25, 1.23, 0.50));
    return new PriceTable(m);
  }

  public Price price(Accelerator accelerator) {
    return prices.get(accelerator);
  }

  /** USD per hour for a node with {@code gpus} of {@code accelerator}. */
  public double hourly(Accelerator accelerator, int gpus, boolean spot) {
    return gpus * prices.get(accelerator).perGpuHour(spot);
  }

  /**
   * A copy with prices replaced from a map such as a ConfigMap's data. Keys: {@code
   * <accelerator>.gpu.ondemand}, {@code <accelerator>.gpu.spot}, {@code <accelerator>.vm.ondemand},
   * {@code <accelerator>.vm.spot}, {@code <accelerator>.gpu.flexstart}, {@code
   * <accelerator>.vm.flexstart}, optionally prefixed with {@code price.}; {@code <accelerator>} is
   * a GKE accelerator type such as {@code nvidia-l4}. Values are USD per GPU-hour. Other keys are
   * ignored.
   *
   * @throws IllegalArgumentException for a known key with a value that is not a non-negative number
   */
  public PriceTable withOverrides(Map<String, String> overrides) {
    Map<Accelerator, Price> m = new EnumMap<>(prices);
    for (Map.Entry<String, String> e : overrides.entrySet()) {
      String key = e.getKey().trim().toLowerCase(Locale.ROOT);
      if (key.startsWith("price.")) {
        key = key.substring("price.".length());
      }
      String[] parts = key.split("\\.");
      if (parts.length != 3) {
        continue;
      }
      Accelerator a;
      try {
        a = Accelerator.fromId(parts[0]);
      } catch (IllegalArgumentException ex) {
        continue;
      }
      double v;
      try {
        v = Double.parseDouble(e.getValue().trim());
      } catch (NumberFormatException ex) {
        throw new IllegalArgumentException(
            "price " + e.getKey() + " is not a number: " + e.getValue());
      }
      if (v < 0 || Double.isNaN(v) || Double.isInfinite(v)) {
        throw new IllegalArgumentException("price " + e.getKey() + " must be >= 0: " + v);
      }
      Price p = m.get(a);
      String which = parts[1] + "." + parts[2];
      m.put(
          a,
          switch (which) {
            case "gpu.ondemand" ->
                new Price(
                    v, p.gpuSpot(), p.vmOnDemand(), p.vmSpot(), p.gpuFlexStart(), p.vmFlexStart());
            case "gpu.spot" ->
                new Price(
                    p.gpuOnDemand(),
                    v,
                    p.vmOnDemand(),
                    p.vmSpot(),
                    p.gpuFlexStart(),
                    p.vmFlexStart());
            case "vm.ondemand" ->
                new Price(
                    p.gpuOnDemand(), p.gpuSpot(), v, p.vmSpot(), p.gpuFlexStart(), p.vmFlexStart());
            case "vm.spot" ->
                new Price(
                    p.gpuOnDemand(),
                    p.gpuSpot(),
                    p.vmOnDemand(),
                    v,
                    p.gpuFlexStart(),
                    p.vmFlexStart());
            case "gpu.flexstart" ->
                new Price(
                    p.gpuOnDemand(), p.gpuSpot(), p.vmOnDemand(), p.vmSpot(), v, p.vmFlexStart());
            case "vm.flexstart" ->
                new Price(
                    p.gpuOnDemand(), p.gpuSpot(), p.vmOnDemand(), p.vmSpot(), p.gpuFlexStart(), v);
            default -> p;
          });
    }
    return new PriceTable(m);
  }
}
