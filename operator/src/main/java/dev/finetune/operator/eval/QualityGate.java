package dev.finetune.operator.eval;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Decides whether a tuned model passes a gate on one metric, from the corpus-mean scores of the
 * base and the tuned model and, for {@code requireSignificant}, the confidence interval of their
 * difference. Pure function; the message always contains the numbers it compared, e.g. {@code
 * "rougeL 0.412 >= minScore 0.35 and improvement +0.181 >= +0.05"}.
 */
public final class QualityGate {

  private QualityGate() {}

  /**
   * A gate on one metric. At least one threshold must be set.
   *
   * @param metric the metric compared
   * @param minScore minimum tuned score, or {@code null}
   * @param minImprovement minimum tuned minus baseline score (may be negative to tolerate a bounded
   *     regression), or {@code null}
   * @param requireSignificant also require the lower end of the interval of the improvement to be
   *     above {@code minImprovement} (0 when unset)
   */
  public record Gate(
      String metric, Double minScore, Double minImprovement, boolean requireSignificant) {
    public Gate(String metric, Double minScore, Double minImprovement) {
      this(metric, minScore, minImprovement, false);
    }

    public Gate {
      Objects.requireNonNull(metric, "metric");
      if (minScore == null && minImprovement == null) {
        throw new IllegalArgumentException(
            "gate on " + metric + " needs minScore and/or minImprovement");
      }
      if (minScore != null && !Double.isFinite(minScore)) {
        throw new IllegalArgumentException("minScore must be finite: " + minScore);
      }
      if (minImprovement != null && !Double.isFinite(minImprovement)) {
        throw new IllegalArgumentException("minImprovement must be finite: " + minImprovement);
      }
    }

    public static Gate minScore(String metric, double minScore) {
      return new Gate(metric, minScore, null);
    }

    public static Gate minImprovement(String metric, double minImprovement) {
      return new Gate(metric, null, minImprovement);
    }
  }

  /** Outcome of a gate, with a human-readable explanation. */
  public record Result(boolean passed, String message) {}

  /**
   * Evaluates {@code gate}.
   *
   * @param baseline corpus-mean scores of the base model per metric (only needed when the gate has
   *     a {@code minImprovement})
   * @param tuned corpus-mean scores of the tuned model per metric
   */
  public static Result evaluate(
      Map<String, Double> baseline, Map<String, Double> tuned, Gate gate) {
    return evaluate(baseline, tuned, Map.of(), gate);
  }

  /**
   * Evaluates {@code gate}.
   *
   * @param intervals per metric, the confidence interval of tuned minus baseline (needed when the
   *     gate requires significance)
   */
  public static Result evaluate(
      Map<String, Double> baseline,
      Map<String, Double> tuned,
      Map<String, PairedBootstrap.Interval> intervals,
      Gate gate) {
    Objects.requireNonNull(gate, "gate");
    String metric = gate.metric();
    Double tunedScore = tuned == null ? null : tuned.get(metric);
    if (tunedScore == null || !Double.isFinite(tunedScore)) {
      return new Result(
          false, metric + " score of the tuned model is missing (" + tunedScore + ")");
    }
    Double baseScore = baseline == null ? null : baseline.get(metric);
    boolean needsBaseline = gate.minImprovement() != null || gate.requireSignificant();
    if (needsBaseline && (baseScore == null || !Double.isFinite(baseScore))) {
      return new Result(
          false,
          metric
              + " score of the baseline model is missing ("
              + baseScore
              + "); cannot check"
              + " improvement");
    }
    boolean passed = true;
    List<String> parts = new ArrayList<>();
    if (gate.minScore() != null) {
      boolean ok = tunedScore >= gate.minScore();
      passed &= ok;
      parts.add(
          String.format(
              Locale.ROOT,
              "%s %.3f %s minScore %s",
              metric,
              tunedScore,
              ok ? ">=" : "<",
              plain(gate.minScore(), false)));
    }
    if (gate.minImprovement() != null) {
      double improvement = tunedScore - baseScore;
      boolean ok = improvement >= gate.minImprovement();
      passed &= ok;
      String prefix =
          gate.minScore() == null
              ? String.format(
                  Locale.ROOT, "%s %.3f (baseline %.3f), ", metric, tunedScore, baseScore)
              : "";
      parts.add(
          String.format(
              Locale.ROOT,
              "%simprovement %+.3f %s %s",
              prefix,
              improvement,
              ok ? ">=" : "<",
              plain(gate.minImprovement(), true)));
    }
    if (gate.requireSignificant()) {
      PairedBootstrap.Interval ci = intervals == null ? null : intervals.get(metric);
      double bar = gate.minImprovement() == null ? 0.0 : gate.minImprovement();
      if (ci == null) {
        passed = false;
        parts.add("no confidence interval of the improvement; cannot check significance");
      } else {
        boolean ok = ci.low() > bar;
        passed &= ok;
        parts.add(
            String.format(
                    Locale.ROOT,
                    "95%% interval [%+.3f, %+.3f] %s %s",
                    ci.low(),
                    ci.high(),
                    ok ? "lies above" : "does not lie above",
                    plain(bar, true))
                + (ok ? "" : " (the improvement may be chance)"));
      }
    }
    return new Result(passed, String.join(" and ", parts));
  }

  private static String plain(double value, boolean signed) {
    String s = BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
    return signed && value >= 0 ? "+" + s : s;
  }
}
