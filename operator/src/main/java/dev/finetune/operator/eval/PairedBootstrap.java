package dev.finetune.operator.eval;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Paired bootstrap of the mean difference tuned minus baseline over examples: each resample draws
 * {@code n} example indices with replacement (the same indices for both models, which keeps the
 * pairing), and the interval is the percentile interval of the resampled mean differences. Seeded
 * and reproducible; primitive arrays only, {@code O(samples * n)} time and {@code O(samples)}
 * memory.
 */
public final class PairedBootstrap {

  public static final int DEFAULT_SAMPLES = 1000;
  public static final double DEFAULT_CONFIDENCE = 0.95;
  public static final long DEFAULT_SEED = 42L;

  private final int samples;
  private final double confidence;
  private final long seed;

  public PairedBootstrap() {
    this(DEFAULT_SAMPLES, DEFAULT_CONFIDENCE, DEFAULT_SEED);
  }

  public PairedBootstrap(int samples, double confidence, long seed) {
    if (samples <= 0) {
      throw new IllegalArgumentException("samples must be positive: " + samples);
    }
    if (!(confidence > 0 && confidence < 1)) {
      throw new IllegalArgumentException("confidence must be in (0, 1): " + confidence);
    }
    this.samples = samples;
    this.confidence = confidence;
    this.seed = seed;
  }

  public int samples() {
    return samples;
  }

  public double confidence() {
    return confidence;
  }

  public long seed() {
    return seed;
  }

  /**
   * The interval of the mean of {@code tuned[i] - baseline[i]}.
   *
   * @param mean the observed mean difference
   * @param low lower end of the interval
   * @param high upper end of the interval
   */
  public record Interval(double mean, double low, double high) {}

  /** Interval of {@code mean(tuned - baseline)}; both arrays have the same, positive length. */
  public Interval interval(double[] tuned, double[] baseline) {
    int n = tuned.length;
    if (n == 0 || baseline.length != n) {
      throw new IllegalArgumentException(
          "need paired, non-empty scores: " + n + " tuned, " + baseline.length + " baseline");
    }
    double[] diff = new double[n];
    double sum = 0;
    for (int i = 0; i < n; i++) {
      diff[i] = tuned[i] - baseline[i];
      sum += diff[i];
    }
    SplittableRandom random = new SplittableRandom(seed);
    double[] means = new double[samples];
    for (int s = 0; s < samples; s++) {
      double t = 0;
      for (int i = 0; i < n; i++) {
        t += diff[random.nextInt(n)];
      }
      means[s] = t / n;
    }
    Arrays.sort(means);
    double tail = (1 - confidence) / 2;
    return new Interval(
        sum / n,
        BootstrapAggregator.percentile(means, tail),
        BootstrapAggregator.percentile(means, 1 - tail));
  }
}
