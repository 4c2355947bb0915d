package dev.finetune.operator.eval;

import java.io.IOException;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;

/** A small evaluation with a clear gain, a clear loss, a hostile prediction and a loss curve. */
final class ReportFixtures {
  static final String HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>";

  private ReportFixtures() {}

  static List<Scoreboard.Example> examples() {
    List<Scoreboard.Example> out = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      String ref = "{\"name\": \"P" + i + "\", \"city\": \"Paris\"}";
      String base = i % 3 == 0 ? "name is P" + i : "{\"name\": \"P" + i + "\"}";
      String tuned = ref;
      if (i == 7) {
        tuned = HOSTILE; // the tuned model got this one badly wrong
        base = ref;
      }
      out.add(new Scoreboard.Example("e" + i, "name: P" + i + "; city: Paris", ref, base, tuned));
    }
    return out;
  }

  static TrainingHistory history() throws IOException {
    StringBuilder b = new StringBuilder();
    for (int s = 1; s <= 40; s++) {
      b.append(
          String.format(
              java.util.Locale.ROOT,
              "{\"step\": %d, \"attempt\": 1, \"loss\": %.4f, \"learningRate\": 0.001,"
                  + " \"tokensPerSecond\": 900.5}%n",
              s,
              3.0 / Math.sqrt(s)));
    }
    return TrainingHistory.read(new StringReader(b.toString()));
  }

  static HtmlReport.Data data() throws IOException {
    Scoreboard board =
        Scoreboard.score(
            examples(),
            List.of(
                EvalMetric.ROUGE_L,
                EvalMetric.EXACT_MATCH,
                EvalMetric.JSON_VALID,
                EvalMetric.JSON_FIELD_MATCH),
            true,
            null,
            new PairedBootstrap());
    return new HtmlReport.Data(
        "ml-team/person-extractor",
        board,
        EvalMetric.JSON_FIELD_MATCH,
        "Passed: jsonFieldMatch 0.967 >= minScore 0.5",
        null,
        history());
  }
}
