package dev.finetune.operator.sizing;

import dev.finetune.operator.cost.PriceTable;
import dev.finetune.operator.gcp.nodepool.Accelerator;
import dev.finetune.operator.gcp.nodepool.PoolShape;
import java.util.Locale;
import java.util.Optional;

/** Picks the cheapest accelerator and GPU count whose memory fits the estimate with headroom. */
public final class AcceleratorSizer {

  /** Fraction of GPU memory kept free on top of the estimate. */
  public static final double DEFAULT_HEADROOM = 0.10;

  private final PriceTable prices;
  private final double headroom;

  public AcceleratorSizer(PriceTable prices) {
    this(prices, DEFAULT_HEADROOM);
  }

  public AcceleratorSizer(PriceTable prices, double headroom) {
    this.prices = prices;
    this.headroom = headroom;
  }

  /** Whether {@code a} can run {@code method} (LoRA in bf16 needs native bf16, so not T4). */
  public static boolean supports(Accelerator a, TrainingMethod method) {
    return method == TrainingMethod.LORA ? a.supportsBf16() : a.supportsBnb4bit();
  }

  /** The cheapest fit, preferring fewer GPUs on a price tie; empty when nothing GKE offers fits. */
  public Optional<SizingDecision> choose(ModelSize model, TrainingParams p, boolean spot) {
    SizingDecision best = null;
    for (Accelerator a : Accelerator.values()) {
      if (!supports(a, p.method())) {
        continue;
      }
      for (int n : Accelerator.GPU_COUNTS) {
        if (!offered(a, n, spot)) {
          continue;
        }
        MemoryEstimate e = MemoryEstimator.estimate(model, p, n);
        if (e.totalGiB() * (1 + headroom) > a.memoryGiB()) {
          continue;
        }
        double price = prices.hourly(a, n, spot);
        if (best == null
            || price < best.usdPerHour() - 1e-9
            || (Math.abs(price - best.usdPerHour()) < 1e-9 && n < best.count())) {
          best =
              new SizingDecision(
                  a, n, a.machineType(n), spot, e, price, reason(model, p, a, n, e, price, spot));
        }
      }
    }
    return Optional.ofNullable(best);
  }

  /** Message for when {@link #choose} finds nothing. */
  public static String noFitMessage(ModelSize model, TrainingParams p) {
    MemoryEstimate one = MemoryEstimator.estimate(model, p, 1);
    return String.format(
        Locale.ROOT,
        "%s params, %s needs ~%.1f GiB per GPU (%s); every GPU holds a full replica, and no"
            + " accelerator offered has that much memory. Use QLoRA, a shorter sequence or a"
            + " smaller batch.",
        formatParams(model.params()),
        p.method().label(),
        one.totalGiB(),
        one.breakdown());
  }

  private static boolean offered(Accelerator a, int n, boolean spot) {
    if (!a.offersCount(n)) {
      return false;
    }
    try {
      PoolShape.of(a, n, spot);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  static String reason(
      ModelSize model,
      TrainingParams p,
      Accelerator a,
      int n,
      MemoryEstimate e,
      double price,
      boolean spot) {
    return String.format(
        Locale.ROOT,
        "%s params%s, %s needs ~%.1f GiB per GPU (%s) at batch %d x %d tokens; cheapest fit:"
            + " %dx %s (%d GB) on %s at $%.2f/h %s",
        formatParams(model.params()),
        model.exact() ? "" : " (architecture assumed)",
        p.method().label(),
        e.totalGiB(),
        e.breakdown(),
        p.microBatchSize(),
        p.seqLen(),
        n,
        a.id(),
        a.nominalGb(),
        a.machineType(n),
        price,
        spot ? "spot" : "on-demand");
  }

  /** 6738415616 -> {@code 6.7B}; 268000000 -> {@code 268M}. */
  public static String formatParams(long params) {
    if (params >= 1_000_000_000L) {
      return String.format(Locale.ROOT, "%.1fB", params / 1e9);
    }
    return String.format(Locale.ROOT, "%dM", Math.round(params / 1e6));
  }
}
