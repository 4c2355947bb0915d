package dev.finetune.operator.eval;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Scores every example of an evaluation set with every requested metric, for the tuned and (when
 * present) the base model, and computes each metric's mean and the paired-bootstrap interval of
 * tuned minus baseline. Per-example scores are kept in primitive arrays for the report. Each
 * prediction is parsed as JSON at most once; cost is linear in the size of the predictions (plus
 * ROUGE's own cost and {@code samples * n} for each interval).
 */
public final class Scoreboard {

  /** One example: its id, optional prompt, reference, and both predictions. */
  public record Example(String id, String prompt, String reference, String baseline, String tuned) {
    public static Example of(PredictionJoin.Row row) {
      return new Example(
          row.id(), row.prompt(), row.reference(), row.baselinePrediction(), row.tunedPrediction());
    }
  }

  /**
   * One metric over the examples.
   *
   * @param indices the examples scored, in order ({@code null}: all of them)
   * @param baseline per scored example, the base model's score ({@code null} without baseline)
   * @param tuned per scored example, the tuned model's score
   * @param baselineMean mean of {@code baseline} (NaN without baseline or when nothing was scored)
   * @param tunedMean mean of {@code tuned} (NaN when nothing was scored)
   * @param tunedPrecision jsonFieldMatch: the tuned model's mean precision, else NaN
   * @param tunedRecall jsonFieldMatch: the tuned model's mean recall, else NaN
   * @param notScored examples left out (jsonFieldMatch: reference not JSON)
   * @param interval interval of tuned minus baseline ({@code null} without baseline or scores)
   */
  public record MetricScores(
      EvalMetric metric,
      int[] indices,
      double[] baseline,
      double[] tuned,
      double baselineMean,
      double tunedMean,
      double tunedPrecision,
      double tunedRecall,
      int notScored,
      PairedBootstrap.Interval interval) {

    public int scored() {
      return tuned.length;
    }

    /** The example index of the {@code k}-th score. */
    public int exampleAt(int k) {
      return indices == null ? k : indices[k];
    }
  }

  private final List<Example> examples;
  private final boolean withBaseline;
  private final Map<EvalMetric, MetricScores> metrics;
  private final PairedBootstrap bootstrap;

  private Scoreboard(
      List<Example> examples,
      boolean withBaseline,
      Map<EvalMetric, MetricScores> metrics,
      PairedBootstrap bootstrap) {
    this.examples = examples;
    this.withBaseline = withBaseline;
    this.metrics = metrics;
    this.bootstrap = bootstrap;
  }

  public List<Example> examples() {
    return examples;
  }

  public boolean withBaseline() {
    return withBaseline;
  }

  /** Results in the order the metrics were requested. */
  public Map<EvalMetric, MetricScores> metrics() {
    return metrics;
  }

  public PairedBootstrap bootstrap() {
    return bootstrap;
  }

  /** Means per metric id, of the tuned model (or of the base model). */
  public Map<String, Double> means(boolean tuned) {
    Map<String, Double> out = new LinkedHashMap<>();
    metrics.forEach(
        (m, s) -> {
          double v = tuned ? s.tunedMean() : s.baselineMean();
          if (!Double.isNaN(v)) {
            out.put(m.id(), v);
          }
        });
    return out;
  }

  /** Intervals of tuned minus baseline per metric id. */
  public Map<String, PairedBootstrap.Interval> intervals() {
    Map<String, PairedBootstrap.Interval> out = new LinkedHashMap<>();
    metrics.forEach(
        (m, s) -> {
          if (s.interval() != null) {
            out.put(m.id(), s.interval());
          }
        });
    return out;
  }

  /**
   * Scores {@code examples}.
   *
   * @param withBaseline whether {@link Example#baseline()} holds the base model's predictions
   * @param schema the compiled schema for {@link EvalMetric#JSON_SCHEMA} (required when asked for)
   */
  public static Scoreboard score(
      List<Example> examples,
      List<EvalMetric> requested,
      boolean withBaseline,
      JsonSchemaCheck schema,
      PairedBootstrap bootstrap) {
    Objects.requireNonNull(bootstrap, "bootstrap");
    List<EvalMetric> wanted = requested.stream().distinct().toList();
    if (wanted.contains(EvalMetric.JSON_SCHEMA) && schema == null) {
      throw new IllegalArgumentException("jsonSchema needs a schema");
    }
    int n = examples.size();
    Set<RougeType> rougeTypes = EnumSet.noneOf(RougeType.class);
    for (EvalMetric m : wanted) {
      if (m.rougeType() != null) {
        rougeTypes.add(m.rougeType());
      }
    }
    boolean needsJson =
        wanted.contains(EvalMetric.JSON_VALID)
            || wanted.contains(EvalMetric.JSON_FIELD_MATCH)
            || wanted.contains(EvalMetric.JSON_SCHEMA);
    int sides = withBaseline ? 2 : 1;
    // scores[side][metric][example]; side 0 tuned, 1 baseline.
    double[][][] scores = new double[sides][wanted.size()][n];
    double[][] precision = new double[sides][n];
    double[][] recall = new double[sides][n];
    boolean[] refIsJson = new boolean[n];
    RougeScorer rouge = rougeTypes.isEmpty() ? null : new RougeScorer(rougeTypes, true);
    for (int i = 0; i < n; i++) {
      Example ex = examples.get(i);
      Set<String> refLeaves = null;
      if (wanted.contains(EvalMetric.JSON_FIELD_MATCH)) {
        JsonNode ref = JsonMetrics.parse(ex.reference());
        refIsJson[i] = ref != null;
        if (ref != null) {
          refLeaves = new HashSet<>(JsonMetrics.leaves(ref));
        }
      }
      for (int side = 0; side < sides; side++) {
        String prediction = side == 0 ? ex.tuned() : ex.baseline();
        Map<RougeType, Score> r = rouge == null ? null : rouge.score(ex.reference(), prediction);
        JsonNode doc = needsJson ? JsonMetrics.parse(prediction) : null;
        for (int k = 0; k < wanted.size(); k++) {
          EvalMetric m = wanted.get(k);
          double v;
          switch (m) {
            case EXACT_MATCH -> v = JsonMetrics.exactMatch(prediction, ex.reference());
            case JSON_VALID -> v = doc == null ? 0 : 1;
            case JSON_SCHEMA -> v = schema.score(doc);
            case JSON_FIELD_MATCH -> {
              if (refLeaves == null) {
                v = 0;
              } else {
                Score s = JsonMetrics.fieldMatch(refLeaves, doc);
                precision[side][i] = s.precision();
                recall[side][i] = s.recall();
                v = s.fmeasure();
              }
            }
            default -> v = r.get(m.rougeType()).fmeasure();
          }
          scores[side][k][i] = v;
        }
      }
    }
    Map<EvalMetric, MetricScores> out = new LinkedHashMap<>();
    for (int k = 0; k < wanted.size(); k++) {
      EvalMetric m = wanted.get(k);
      int[] indices = null;
      double[] tuned = scores[0][k];
      double[] base = withBaseline ? scores[1][k] : null;
      double[] p = precision[0];
      double[] rc = recall[0];
      int notScored = 0;
      if (m == EvalMetric.JSON_FIELD_MATCH) {
        indices = indicesOf(refIsJson);
        notScored = n - indices.length;
        tuned = select(tuned, indices);
        base = base == null ? null : select(base, indices);
        p = select(p, indices);
        rc = select(rc, indices);
      }
      double tunedMean = mean(tuned);
      double baseMean = base == null ? Double.NaN : mean(base);
      PairedBootstrap.Interval ci =
          base == null || tuned.length == 0 ? null : bootstrap.interval(tuned, base);
      boolean fields = m == EvalMetric.JSON_FIELD_MATCH;
      out.put(
          m,
          new MetricScores(
              m,
              indices,
              base,
              tuned,
              baseMean,
              tunedMean,
              fields ? mean(p) : Double.NaN,
              fields ? mean(rc) : Double.NaN,
              notScored,
              ci));
    }
    return new Scoreboard(
        Collections.unmodifiableList(new ArrayList<>(examples)),
        withBaseline,
        Collections.unmodifiableMap(out),
        bootstrap);
  }

  private static int[] indicesOf(boolean[] mask) {
    int c = 0;
    for (boolean b : mask) {
      if (b) {
        c++;
      }
    }
    int[] out = new int[c];
    int j = 0;
    for (int i = 0; i < mask.length; i++) {
      if (mask[i]) {
        out[j++] = i;
      }
    }
    return out;
  }

  private static double[] select(double[] v, int[] indices) {
    double[] out = new double[indices.length];
    for (int j = 0; j < indices.length; j++) {
      out[j] = v[indices[j]];
    }
    return out;
  }

  static double mean(double[] v) {
    if (v.length == 0) {
      return Double.NaN;
    }
    double s = 0;
    for (double x : v) {
      s += x;
    }
    return s / v.length;
  }
}
