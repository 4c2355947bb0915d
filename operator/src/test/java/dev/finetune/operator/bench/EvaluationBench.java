package dev.finetune.operator.bench;

import dev.finetune.operator.eval.BootstrapAggregator;
import dev.finetune.operator.eval.EvalMetric;
import dev.finetune.operator.eval.HtmlReport;
import dev.finetune.operator.eval.PairedBootstrap;
import dev.finetune.operator.eval.RougeScorer;
import dev.finetune.operator.eval.RougeType;
import dev.finetune.operator.eval.Scoreboard;
import dev.finetune.operator.eval.TrainingHistory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Evaluation cost on a generated JSON extraction set: the ROUGE-only scoring the operator did
 * before (four ROUGE types, each with rouge-score's bootstrap aggregate) against the scoring now
 * (the same ROUGE types plus exactMatch, jsonValid and jsonFieldMatch, a paired bootstrap per
 * metric) and the report. Prints one JSON line; run by hack/bench/evaluation-bench.sh.
 */
public final class EvaluationBench {
  private EvaluationBench() {}

  public static void main(String[] args) {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
    int reps = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    List<Scoreboard.Example> examples = corpus(n);
    List<RougeType> rouge =
        List.of(RougeType.ROUGE1, RougeType.ROUGE2, RougeType.ROUGE_L, RougeType.ROUGE_LSUM);
    List<EvalMetric> all =
        List.of(
            EvalMetric.ROUGE1,
            EvalMetric.ROUGE2,
            EvalMetric.ROUGE_L,
            EvalMetric.ROUGE_LSUM,
            EvalMetric.EXACT_MATCH,
            EvalMetric.JSON_VALID,
            EvalMetric.JSON_FIELD_MATCH);
    double before = Double.MAX_VALUE;
    double now = Double.MAX_VALUE;
    double report = Double.MAX_VALUE;
    int bytes = 0;
    for (int r = 0; r < reps + 1; r++) { // the first round warms up
      long t0 = System.nanoTime();
      RougeScorer scorer = new RougeScorer(rouge, true);
      BootstrapAggregator base = new BootstrapAggregator();
      BootstrapAggregator tuned = new BootstrapAggregator();
      for (Scoreboard.Example e : examples) {
        tuned.add(scorer.score(e.reference(), e.tuned()));
        base.add(scorer.score(e.reference(), e.baseline()));
      }
      base.aggregate();
      tuned.aggregate();
      long t1 = System.nanoTime();
      Scoreboard board = Scoreboard.score(examples, all, true, null, new PairedBootstrap());
      long t2 = System.nanoTime();
      byte[] html =
          HtmlReport.renderBytes(
              new HtmlReport.Data(
                  "bench", board, EvalMetric.ROUGE_L, null, null, TrainingHistory.empty()));
      long t3 = System.nanoTime();
      bytes = html.length;
      if (r > 0) {
        before = Math.min(before, (t1 - t0) / 1e9);
        now = Math.min(now, (t2 - t1) / 1e9);
        report = Math.min(report, (t3 - t2) / 1e9);
      }
    }
    System.out.println(
        String.format(
            Locale.ROOT,
            "{\"examples\": %d, \"rougeOnlySeconds\": %.3f, \"allMetricsSeconds\": %.3f,"
                + " \"reportSeconds\": %.3f, \"reportBytes\": %d, \"ratioAllToRougeOnly\": %.2f}",
            n,
            before,
            now,
            report,
            bytes,
            now / before));
  }

  static List<Scoreboard.Example> corpus(int n) {
    SplittableRandom r = new SplittableRandom(7);
    String[] cities = {"Paris", "Austin", "Lagos", "Osaka", "Lima", "Oslo"};
    List<Scoreboard.Example> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      String name = "Person " + i;
      String city = cities[r.nextInt(cities.length)];
      String ref =
          "{\"name\": \"" + name + "\", \"city\": \"" + city + "\", \"tags\": [\"a\", \"b\"]}";
      String tuned =
          r.nextInt(10) == 0
              ? "{\"name\": \"" + name + "\", \"city\": \"" + cities[r.nextInt(6)] + "\"}"
              : ref;
      String base = "Sure! " + name + " lives in " + cities[r.nextInt(6)] + " and likes a and b.";
      out.add(new Scoreboard.Example("e" + i, "name: " + name, ref, base, tuned));
    }
    return out;
  }
}
