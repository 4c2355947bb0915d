package dev.finetune.operator.sizing;

import dev.finetune.operator.cost.PriceTable;
import dev.finetune.operator.gcp.nodepool.Accelerator;
import dev.finetune.operator.gcp.nodepool.PoolShape;
import java.util.Locale;
import java.util.Optional;

/**
 * Picks the cheapest accelerator and GPU count whose memory fits the estimate with headroom.
 *
 * <p>A model that one GPU holds runs as DDP replicas, as it always has. A model that no GPU offered
 * holds alone is sharded with FSDP over 2, 4 or 8 GPUs of one node: the cheapest (accelerator,
 * count) where the sharded estimate fits with the same headroom wins.
 */
public final class AcceleratorSizer {

  /** Fraction of GPU memory kept free on top of the estimate. */
  public static final double DEFAULT_HEADROOM = 0.10;

  /** The most GPUs one node carries. */
  static final int MAX_GPUS = 8;

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

  /** The cheapest fit on one GPU or more, preferring fewer GPUs on a price tie. */
  public Optional<SizingDecision> choose(ModelSize model, TrainingParams p, boolean spot) {
    return choose(model, p, spot, 1);
  }

  /**
   * The cheapest fit with at least {@code minGpus} GPUs, preferring fewer GPUs on a price tie: DDP
   * replicas when one GPU of some type holds the model, else FSDP shards; empty when nothing GKE
   * offers on one node fits.
   */
  public Optional<SizingDecision> choose(
      ModelSize model, TrainingParams p, boolean spot, int minGpus) {
    SizingDecision best = cheapest(model, p, spot, minGpus, Strategy.DDP);
    if (best == null && shardable(p)) {
      best = cheapest(model, p, spot, Math.max(2, minGpus), Strategy.FSDP);
    }
    return Optional.ofNullable(best);
  }

  private SizingDecision cheapest(
      ModelSize model, TrainingParams p, boolean spot, int minGpus, Strategy strategy) {
    SizingDecision best = null;
    for (Accelerator a : Accelerator.values()) {
      if (!supports(a, p.method())) {
        continue;
      }
      for (int n : Accelerator.GPU_COUNTS) {
        if (n < minGpus || !offered(a, n, spot)) {
          continue;
        }
        MemoryEstimate e = MemoryEstimator.estimate(model, p, n, strategy);
        if (!fits(e, a)) {
          continue;
        }
        double price = prices.hourly(a, n, spot);
        if (best == null
            || price < best.usdPerHour() - 1e-9
            || (Math.abs(price - best.usdPerHour()) < 1e-9 && n < best.count())) {
          String why =
              strategy == Strategy.DDP
                  ? reason(model, p, a, n, e, price, spot)
                  : shardedReason(model, p, a, n, e, price, spot);
          best = new SizingDecision(a, n, a.machineType(n), spot, e, price, why, strategy);
        }
      }
    }
    return best;
  }

  /**
   * How {@code count} GPUs of {@code a}, as the spec names them, run the job: DDP when one GPU
   * holds the model, FSDP when only the {@code count} of them together do; empty when neither fits
   * (then {@link #doesNotFitMessage} says why and what would).
   */
  public Optional<SizingDecision> check(
      ModelSize model, TrainingParams p, Accelerator a, int count, boolean spot) {
    double price = prices.hourly(a, count, spot);
    String machineType = a.offersCount(count) ? a.machineType(count) : null;
    MemoryEstimate ddp = MemoryEstimator.estimate(model, p, count);
    if (fits(ddp, a)) {
      return Optional.of(
          new SizingDecision(
              a,
              count,
              machineType,
              spot,
              ddp,
              price,
              replicaReason(model, p, a, count, ddp),
              Strategy.DDP));
    }
    if (count >= 2 && shardable(p)) {
      MemoryEstimate fsdp = MemoryEstimator.sharded(model, p, count);
      if (fits(fsdp, a)) {
        return Optional.of(
            new SizingDecision(
                a,
                count,
                machineType,
                spot,
                fsdp,
                price,
                namedShardedReason(model, p, a, count, fsdp),
                Strategy.FSDP));
      }
    }
    return Optional.empty();
  }

  private static String replicaReason(
      ModelSize model, TrainingParams p, Accelerator a, int count, MemoryEstimate ddp) {
    return String.format(
        Locale.ROOT,
        "%s params%s, %s needs ~%.1f GiB per GPU"
            + " (%s) at batch %d x %d tokens, which one %s (%d GB) holds: %s",
        formatParams(model.params()),
        model.exact() ? "" : " (architecture assumed)",
        p.method().label(),
        ddp.totalGiB(),
        ddp.breakdown(),
        p.microBatchSize(),
        p.seqLen(),
        a.id(),
        a.nominalGb(),
        count == 1 ? "one GPU" : count + " DDP replicas");
  }

  private static String namedShardedReason(
      ModelSize model, TrainingParams p, Accelerator a, int count, MemoryEstimate fsdp) {
    return String.format(
        Locale.ROOT,
        "%s params%s, %s needs ~%.1f GiB"
            + " on one GPU, more than one %s (%d GB) holds; sharded with FSDP over"
            + " %d x %s it needs ~%.1f GiB per GPU (%s) at batch %d x %d tokens",
        formatParams(model.params()),
        model.exact() ? "" : " (architecture assumed)",
        p.method().label(),
        MemoryEstimator.estimate(model, p, 1).totalGiB(),
        a.id(),
        a.nominalGb(),
        count,
        a.id(),
        fsdp.totalGiB(),
        fsdp.breakdown(),
        p.microBatchSize(),
        p.seqLen());
  }

  /** Message for when {@link #check} finds that {@code count} x {@code a} cannot hold the job. */
  public String doesNotFitMessage(
      ModelSize model, TrainingParams p, Accelerator a, int count, boolean spot) {
    MemoryEstimate one = MemoryEstimator.estimate(model, p, 1);
    String sharded =
        count >= 2 && shardable(p)
            ? String.format(
                Locale.ROOT,
                " and ~%.1f GiB per GPU sharded with FSDP over %d",
                MemoryEstimator.sharded(model, p, count).totalGiB(),
                count)
            : "";
    String fitsInstead =
        choose(model, p, spot)
            .map(d -> "what fits: " + describe(d))
            .orElse("nothing offered on one node fits; " + advice(p));
    return String.format(
        Locale.ROOT,
        "%d x %s (%.1f GiB each, %.0f%% kept free) cannot hold %s params with %s at batch %d x %d"
            + " tokens: it needs ~%.1f GiB on one GPU%s; %s",
        count,
        a.id(),
        a.memoryGiB(),
        headroom * 100,
        formatParams(model.params()),
        p.method().label(),
        p.microBatchSize(),
        p.seqLen(),
        one.totalGiB(),
        sharded,
        fitsInstead);
  }

  /** Message for when {@link #choose} finds nothing. */
  public static String noFitMessage(ModelSize model, TrainingParams p) {
    MemoryEstimate one = MemoryEstimator.estimate(model, p, 1);
    if (!shardable(p)) {
      return String.format(
          Locale.ROOT,
          "%s params, %s needs ~%.1f GiB per GPU (%s), more than any accelerator offered has, and"
              + " QLoRA is not sharded across GPUs (its 4-bit weights are quantized on the GPU as"
              + " they load). Use lora, which FSDP shards over 2, 4 or 8 GPUs, a shorter sequence"
              + " or a smaller batch.",
          formatParams(model.params()),
          p.method().label(),
          one.totalGiB(),
          one.breakdown());
    }
    MemoryEstimate eight = MemoryEstimator.sharded(model, p, MAX_GPUS);
    return String.format(
        Locale.ROOT,
        "%s params, %s needs ~%.1f GiB per GPU as DDP replicas, where every GPU holds a full"
            + " replica (%s), and ~%.1f GiB per GPU sharded with FSDP over %d GPUs of one node;"
            + " no accelerator offered has that much memory. %s",
        formatParams(model.params()),
        p.method().label(),
        one.totalGiB(),
        one.breakdown(),
        eight.totalGiB(),
        MAX_GPUS,
        advice(p));
  }

  private static String advice(TrainingParams p) {
    return p.method() == TrainingMethod.LORA
        ? "Use QLoRA, a shorter sequence or a smaller batch."
        : "Use a shorter sequence or a smaller batch.";
  }

  /** e.g. {@code 8 x nvidia-a100-80gb with FSDP (~58.5 GiB per GPU, $40.56/h on-demand)}. */
  static String describe(SizingDecision d) {
    return String.format(
        Locale.ROOT,
        "%d x %s %s (~%.1f GiB per GPU, $%.2f/h %s)",
        d.count(),
        d.accelerator().id(),
        d.strategy() == Strategy.FSDP ? "with FSDP" : "as DDP replicas",
        d.estimate().totalGiB(),
        d.usdPerHour(),
        d.spot() ? "spot" : "on-demand");
  }

  private boolean fits(MemoryEstimate e, Accelerator a) {
    return e.totalGiB() * (1 + headroom) <= a.memoryGiB();
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

  static String shardedReason(
      ModelSize model,
      TrainingParams p,
      Accelerator a,
      int n,
      MemoryEstimate e,
      double price,
      boolean spot) {
    return String.format(
        Locale.ROOT,
        "%s params%s, %s needs ~%.1f GiB on one GPU, more than any GPU offered holds; sharded"
            + " with FSDP over %d x %s it needs ~%.1f GiB per GPU (%s) at batch %d x %d"
            + " tokens; cheapest fit: %dx %s (%d GB) on %s at $%.2f/h %s",
        formatParams(model.params()),
        model.exact() ? "" : " (architecture assumed)",
        p.method().label(),
        MemoryEstimator.estimate(model, p, 1).totalGiB(),
        n,
        a.id(),
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

  /**
   * Whether the trainer shards this method with FSDP. It does not shard QLoRA: its 4-bit weights
   * are quantized on the GPU while they load, which FSDP's load-then-shard cannot do (the trainer
   * refuses qlora with fsdp), so QLoRA is sized as replicas only.
   */
  static boolean shardable(TrainingParams p) {
    return p.method() != TrainingMethod.QLORA;
  }

  /** 6738415616 -> {@code 6.7B}; 268000000 -> {@code 268M}. */
  public static String formatParams(long params) {
    if (params >= 1_000_000_000L) {
      return String.format(Locale.ROOT, "%.1fB", params / 1e9);
    }
    return String.format(Locale.ROOT, "%dM", Math.round(params / 1e6));
  }
}
