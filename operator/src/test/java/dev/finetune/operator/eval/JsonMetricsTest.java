package dev.finetune.operator.eval;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class JsonMetricsTest {

  @Test
  void exactMatchIgnoresOnlySurroundingWhitespace() {
    assertThat(JsonMetrics.exactMatch("  Paris\n", "Paris")).isEqualTo(1.0);
    assertThat(JsonMetrics.exactMatch("paris", "Paris")).isEqualTo(0.0);
    assertThat(JsonMetrics.exactMatch("Par is", "Paris")).isEqualTo(0.0);
    assertThat(JsonMetrics.exactMatch("", " ")).isEqualTo(1.0);
  }

  @Test
  void jsonValidAcceptsExactlyOneDocument() {
    assertThat(JsonMetrics.jsonValid("{\"name\": \"Ada\"}")).isEqualTo(1.0);
    assertThat(JsonMetrics.jsonValid("\n  [1, 2]  \n")).isEqualTo(1.0);
    assertThat(JsonMetrics.jsonValid("\"just a string\"")).isEqualTo(1.0);
    assertThat(JsonMetrics.jsonValid("42")).isEqualTo(1.0);
    assertThat(JsonMetrics.jsonValid("null")).isEqualTo(1.0);
  }

  @Test
  void jsonValidForgivesNoFenceProseOrExtension() {
    assertThat(JsonMetrics.jsonValid("```json\n{\"name\": \"Ada\"}\n```")).isEqualTo(0.0);
    assertThat(JsonMetrics.jsonValid("{\"name\": \"Ada\"} Hope this helps!")).isEqualTo(0.0);
    assertThat(JsonMetrics.jsonValid("Sure: {\"name\": \"Ada\"}")).isEqualTo(0.0);
    assertThat(JsonMetrics.jsonValid("{\"a\": 1}{\"b\": 2}")).isEqualTo(0.0);
    assertThat(JsonMetrics.jsonValid("{\"a\": 1} 2")).isEqualTo(0.0);
    assertThat(JsonMetrics.jsonValid("{'a': 1}")).isEqualTo(0.0);
    assertThat(JsonMetrics.jsonValid("{\"a\": NaN}")).isEqualTo(0.0);
    assertThat(JsonMetrics.jsonValid("{\"a\": 1,}")).isEqualTo(0.0);
    assertThat(JsonMetrics.jsonValid("{\"a\": 1} // c")).isEqualTo(0.0);
    assertThat(JsonMetrics.jsonValid("{\"a\": 01}")).isEqualTo(0.0);
    assertThat(JsonMetrics.jsonValid("{\"a\": 1")).isEqualTo(0.0);
    assertThat(JsonMetrics.jsonValid("")).isEqualTo(0.0);
    assertThat(JsonMetrics.jsonValid("   ")).isEqualTo(0.0);
  }

  @Test
  void duplicateKeysAreNotValidJson() {
    // Parsers disagree on which value wins, so a caller cannot rely on such a document.
    assertThat(JsonMetrics.jsonValid("{\"a\": 1, \"a\": 2}")).isEqualTo(0.0);
    assertThat(JsonMetrics.fieldMatch("{\"a\": 1, \"a\": 1}", "{\"a\": 1}")).isEqualTo(Score.ZERO);
    // A reference with duplicate keys is not JSON either: counted, not scored.
    assertThat(JsonMetrics.fieldMatch("{\"a\": 1}", "{\"a\": 1, \"a\": 2}")).isNull();
  }

  @Test
  void leavesAreComparedAsJsonValues() {
    assertThat(JsonMetrics.fieldMatch("{\"n\": 1.0}", "{\"n\": 1}").fmeasure()).isEqualTo(1.0);
    assertThat(JsonMetrics.fieldMatch("{\"n\": 1e2}", "{\"n\": 100}").fmeasure()).isEqualTo(1.0);
    assertThat(JsonMetrics.fieldMatch("{\"n\": \"1\"}", "{\"n\": 1}").fmeasure()).isEqualTo(0.0);
    assertThat(JsonMetrics.fieldMatch("{\"b\": true}", "{\"b\": \"true\"}").fmeasure())
        .isEqualTo(0.0);
    assertThat(JsonMetrics.fieldMatch("{\"z\": null}", "{\"z\": null}").fmeasure()).isEqualTo(1.0);
    // Key order does not matter.
    assertThat(JsonMetrics.fieldMatch("{\"b\": 2, \"a\": 1}", "{\"a\": 1, \"b\": 2}").fmeasure())
        .isEqualTo(1.0);
  }

  @Test
  void emptyObjectsAndArraysAreLeaves() {
    assertThat(JsonMetrics.leaves(JsonMetrics.parse("{\"a\": {}, \"b\": [], \"c\": [{}]}")))
        .containsExactly(".a={}", ".b=[]", ".c[0]={}");
    assertThat(JsonMetrics.fieldMatch("{\"tags\": []}", "{\"tags\": []}").fmeasure())
        .isEqualTo(1.0);
    assertThat(JsonMetrics.fieldMatch("{\"tags\": {}}", "{\"tags\": []}").fmeasure())
        .isEqualTo(0.0);
    assertThat(JsonMetrics.fieldMatch("{}", "{}").fmeasure()).isEqualTo(1.0);
  }

  @Test
  void pathsJoinKeysWithDotsAndIndexArrays() {
    assertThat(JsonMetrics.leaves(JsonMetrics.parse("{\"p\": {\"n\": \"Ada\", \"k\": [1, 2]}}")))
        .containsExactly(".p.n=sAda", ".p.k[0]=n1", ".p.k[1]=n2");
    // A key with a dot is not the same path as nested keys.
    assertThat(JsonMetrics.fieldMatch("{\"a.b\": 1}", "{\"a\": {\"b\": 1}}").fmeasure())
        .isEqualTo(0.0);
    // Array elements are positional.
    assertThat(JsonMetrics.fieldMatch("[2, 1]", "[1, 2]").fmeasure()).isEqualTo(0.0);
  }

  @Test
  void precisionRecallAndF1() {
    Score s =
        JsonMetrics.fieldMatch(
            "{\"name\": \"Ada\", \"city\": \"London\", \"age\": 36}",
            "{\"name\": \"Ada\", \"city\": \"Paris\"}");
    assertThat(s.precision()).isEqualTo(1.0 / 3);
    assertThat(s.recall()).isEqualTo(0.5);
    assertThat(s.fmeasure()).isEqualTo(0.4, org.assertj.core.data.Offset.offset(1e-12));
  }

  @Test
  void invalidPredictionScoresZeroAndProseReferenceIsNotScored() {
    assertThat(JsonMetrics.fieldMatch("name: Ada", "{\"name\": \"Ada\"}")).isEqualTo(Score.ZERO);
    assertThat(JsonMetrics.fieldMatch("```json\n{\"name\": \"Ada\"}\n```", "{\"name\": \"Ada\"}"))
        .isEqualTo(Score.ZERO);
    assertThat(JsonMetrics.fieldMatch("{\"name\": \"Ada\"}", "Ada lives in Paris")).isNull();
  }
}
