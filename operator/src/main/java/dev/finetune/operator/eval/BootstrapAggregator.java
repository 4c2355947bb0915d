package dev.finetune.operator.eval;

import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Corpus aggregation of per-pair ROUGE scores: the mean of each measure plus a bootstrap confidence
 * interval, as {@code rouge_score.scoring.BootstrapAggregator}.
 *
 * <p>For each of {@code samples} resamples, {@code n} pairs are drawn with replacement and the mean
 * of every measure is recorded; {@code low}/{@code mid}/{@code high} are the {@code (1 - ci) / 2},
 * 50th and {@code 1 - (1 - ci) / 2} percentiles of those means, with linear interpolation (numpy's
 * default). The resampling is seeded, so results are reproducible; they are not expected to match
 * numpy's random stream. Not thread-safe.
 */
public final class BootstrapAggregator {

  public static final double DEFAULT_CONFIDENCE = 0.95;
  public static final int DEFAULT_SAMPLES = 1000;
  public static final long DEFAULT_SEED = 42L;

  private final double confidence;
  private final int samples;
  private final long seed;
  private final EnumMap<RougeType, double[]> values = new EnumMap<>(RougeType.class);
  private final EnumMap<RougeType, Integer> counts = new EnumMap<>(RougeType.class);

  public BootstrapAggregator() {
    this(DEFAULT_CONFIDENCE, DEFAULT_SAMPLES, DEFAULT_SEED);
  }

  /**
   * @param confidence confidence level of the interval, in [0, 1]
   * @param samples number of bootstrap resamples, positive
   * @param seed seed of the resampling
   */
  public BootstrapAggregator(double confidence, int samples, long seed) {
    if (!(confidence >= 0 && confidence <= 1)) {
      throw new IllegalArgumentException("confidence must be in range [0, 1]: " + confidence);
    }
    if (samples <= 0) {
      throw new IllegalArgumentException("samples must be positive: " + samples);
    }
    this.confidence = confidence;
    this.samples = samples;
    this.seed = seed;
  }

  /** Adds the scores of one pair. */
  public BootstrapAggregator add(Map<RougeType, Score> scores) {
    for (Map.Entry<RougeType, Score> e : scores.entrySet()) {
      int n = counts.getOrDefault(e.getKey(), 0);
      double[] v = values.get(e.getKey());
      if (v == null) {
        v = new double[48];
      } else if (v.length < (n + 1) * 3) {
        v = Arrays.copyOf(v, v.length * 2);
      }
      Score s = e.getValue();
      v[n * 3] = s.precision();
      v[n * 3 + 1] = s.recall();
      v[n * 3 + 2] = s.fmeasure();
      values.put(e.getKey(), v);
      counts.put(e.getKey(), n + 1);
    }
    return this;
  }

  /** Number of pairs added for {@code type}. */
  public int count(RougeType type) {
    return counts.getOrDefault(type, 0);
  }

  /** Aggregates every type that received at least one score, in {@link RougeType} order. */
  public Map<RougeType, AggregateScore> aggregate() {
    EnumMap<RougeType, AggregateScore> result = new EnumMap<>(RougeType.class);
    for (Map.Entry<RougeType, double[]> e : values.entrySet()) {
      result.put(e.getKey(), aggregate(e.getValue(), counts.get(e.getKey())));
    }
    return Collections.unmodifiableMap(result);
  }

  private AggregateScore aggregate(double[] v, int n) {
    double[] mean = new double[3];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < 3; k++) {
        mean[k] += v[i * 3 + k];
      }
    }
    for (int k = 0; k < 3; k++) {
      mean[k] /= n;
    }
    // Same stream per type, so intervals of different types come from the same resamples.
    SplittableRandom random = new SplittableRandom(seed);
    double[][] sampleMeans = new double[3][samples];
    for (int s = 0; s < samples; s++) {
      double p = 0;
      double r = 0;
      double f = 0;
      for (int i = 0; i < n; i++) {
        int j = random.nextInt(n) * 3;
        p += v[j];
        r += v[j + 1];
        f += v[j + 2];
      }
      sampleMeans[0][s] = p / n;
      sampleMeans[1][s] = r / n;
      sampleMeans[2][s] = f / n;
    }
    double delta = (1 - confidence) / 2;
    double[] low = new double[3];
    double[] mid = new double[3];
    double[] high = new double[3];
    for (int k = 0; k < 3; k++) {
      Arrays.sort(sampleMeans[k]);
      low[k] = percentile(sampleMeans[k], delta);
      mid[k] = percentile(sampleMeans[k], 0.5);
      high[k] = percentile(sampleMeans[k], 1 - delta);
    }
    return new AggregateScore(
        n,
        new Score(mean[0], mean[1], mean[2]),
        new Score(low[0], low[1], low[2]),
        new Score(mid[0], mid[1], mid[2]),
        new Score(high[0], high[1], high[2]));
  }

  /** Percentile {@code q} in [0, 1] of sorted values, linearly interpolated (numpy "linear"). */
  static double percentile(double[] sorted, double q) {
    double index = q * (sorted.length - 1);
    int lo = (int) Math.floor(index);
    int hi = Math.min(lo + 1, sorted.length - 1);
    double t = index - lo;
    return sorted[lo] + (sorted[hi] - sorted[lo]) * t;
  }
}
