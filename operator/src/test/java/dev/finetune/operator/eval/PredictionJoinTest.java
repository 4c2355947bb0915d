package dev.finetune.operator.eval;

import static org.assertj.core.api.Assertions.assertThat;

import dev.finetune.operator.eval.PredictionJoin.Kind;
import dev.finetune.operator.eval.PredictionJoin.Problem;
import dev.finetune.operator.eval.PredictionJoin.Result;
import dev.finetune.operator.eval.PredictionJoin.Row;
import dev.finetune.operator.eval.PredictionJoin.Side;
import java.io.IOException;
import java.io.StringReader;
import org.junit.jupiter.api.Test;

class PredictionJoinTest {

  private static Result join(String baseline, String tuned) throws IOException {
    return PredictionJoin.join(new StringReader(baseline), new StringReader(tuned));
  }

  @Test
  void joinsById() throws IOException {
    Result r =
        join(
            """
            {"id": "a", "reference": "ref a", "prediction": "base a"}
            {"id": 2, "reference": "ref 2", "prediction": "base 2", "extra": [1, {"x": 2}]}

            """,
            """
            {"prediction": "tuned 2", "reference": "ref 2", "id": 2}
            {"id": "a", "reference": "ref a", "prediction": "tuned a"}
            """);
    assertThat(r.isClean()).isTrue();
    assertThat(r.rows())
        .containsExactly(
            new Row("a", "ref a", "base a", "tuned a"), new Row("2", "ref 2", "base 2", "tuned 2"));
  }

  @Test
  void reportsProblemsWithLineNumbers() throws IOException {
    Result r =
        join(
            """
            {"id": "a", "reference": "r", "prediction": "p"}
            not json
            {"id": "b", "reference": "r", "prediction": "p"}
            {"id": "a", "reference": "r", "prediction": "again"}
            {"id": "c", "reference": "r"}
            {"id": "d", "reference": "r", "prediction": null}
            {"id": "e", "reference": "r", "prediction": "p"} trailing
            [1, 2]
            {"id": true, "reference": "r", "prediction": "p"}
            """,
            """
            {"id": "a", "reference": "r", "prediction": "t"}
            {"id": "x", "reference": "r", "prediction": "t"}
            {"id": "a", "reference": "r", "prediction": "t2"}
            {"id": "b", "reference": "other", "prediction": "t"
            """);
    assertThat(r.problems())
        .extracting(Problem::kind, Problem::side, Problem::line, Problem::id)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(Kind.MALFORMED, Side.BASELINE, 2L, null),
            org.assertj.core.groups.Tuple.tuple(Kind.DUPLICATE_ID, Side.BASELINE, 4L, "a"),
            org.assertj.core.groups.Tuple.tuple(Kind.MALFORMED, Side.BASELINE, 5L, null),
            org.assertj.core.groups.Tuple.tuple(Kind.MALFORMED, Side.BASELINE, 6L, null),
            org.assertj.core.groups.Tuple.tuple(Kind.MALFORMED, Side.BASELINE, 7L, null),
            org.assertj.core.groups.Tuple.tuple(Kind.MALFORMED, Side.BASELINE, 8L, null),
            org.assertj.core.groups.Tuple.tuple(Kind.MALFORMED, Side.BASELINE, 9L, null),
            org.assertj.core.groups.Tuple.tuple(Kind.EXTRA, Side.TUNED, 2L, "x"),
            org.assertj.core.groups.Tuple.tuple(Kind.DUPLICATE_ID, Side.TUNED, 3L, "a"),
            org.assertj.core.groups.Tuple.tuple(Kind.MALFORMED, Side.TUNED, 4L, null),
            org.assertj.core.groups.Tuple.tuple(Kind.MISSING, Side.BASELINE, 3L, "b"));
    assertThat(r.problems().get(0).toString()).startsWith("baseline line 2: invalid JSON");
    assertThat(r.problems().get(1).message()).isEqualTo("duplicate id (first seen on line 1)");
    assertThat(r.problems().get(2).message()).isEqualTo("missing string field \"prediction\"");
    assertThat(r.problems().get(3).message())
        .isEqualTo("field \"prediction\" must be a string, got null");
    assertThat(r.problems().get(4).message()).contains("after the JSON object");
    assertThat(r.problems().get(5).message()).isEqualTo("expected a JSON object");
    assertThat(r.problems().get(6).message()).contains("\"id\" must be a string or integer");
    assertThat(r.problems().get(10).message()).isEqualTo("its id has no tuned prediction");
    assertThat(r.rows()).containsExactly(new Row("a", "r", "p", "t"));
    assertThat(r.isClean()).isFalse();
  }

  @Test
  void reportsReferenceMismatch() throws IOException {
    Result r =
        join(
            "{\"id\":\"a\",\"reference\":\"r1\",\"prediction\":\"p\"}\n",
            "{\"id\":\"a\",\"reference\":\"r2\",\"prediction\":\"t\"}\n");
    assertThat(r.problems())
        .singleElement()
        .satisfies(
            p -> {
              assertThat(p.kind()).isEqualTo(Kind.REFERENCE_MISMATCH);
              assertThat(p.line()).isEqualTo(1);
            });
    assertThat(r.rows()).containsExactly(new Row("a", "r1", "p", "t"));
  }

  @Test
  void handlesThousandsOfLines() throws IOException {
    StringBuilder base = new StringBuilder();
    StringBuilder tuned = new StringBuilder();
    for (int i = 0; i < 5000; i++) {
      base.append("{\"id\":\"").append(i).append("\",\"reference\":\"r\",\"prediction\":\"b\"}\n");
    }
    for (int i = 4999; i >= 0; i--) {
      tuned
          .append("{\"id\":\"")
          .append(i)
          .append("\",\"reference\":\"r\",\"prediction\":\"t\"}\r\n");
    }
    Result r = join(base.toString(), tuned.toString());
    assertThat(r.isClean()).isTrue();
    assertThat(r.rows()).hasSize(5000);
    assertThat(r.rows().get(0).id()).isEqualTo("0");
  }
}
