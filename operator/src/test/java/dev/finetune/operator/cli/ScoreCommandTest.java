package dev.finetune.operator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ScoreCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private record Run(int exitCode, String out, String err) {
    List<JsonNode> lines() throws Exception {
      List<JsonNode> out = new java.util.ArrayList<>();
      for (String l : this.out.lines().toList()) {
        out.add(JSON.readTree(l));
      }
      return out;
    }
  }

  private static Run run(String stdin, String... args) {
    ScoreCommand command =
        new ScoreCommand(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code =
        new CommandLine(command)
            .setOut(new PrintWriter(out, true))
            .setErr(new PrintWriter(err, true))
            .execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  // The input of `rouge`: target and prediction.
  private static final String INPUT =
      """
      {"target": "{\\"name\\": \\"Ada\\", \\"age\\": 36}", "prediction": "{\\"age\\": 36.0, \\"name\\": \\"Ada\\"}"}
      {"target": "{\\"name\\": \\"Tim\\"}", "prediction": "```json\\n{\\"name\\": \\"Tim\\"}\\n```"}
      {"target": "Paris", "prediction": " Paris "}
      """;

  @Test
  void scoresEachPairAndAggregates() throws Exception {
    Run r = run(INPUT);
    assertThat(r.exitCode()).as(r.err()).isZero();
    List<JsonNode> lines = r.lines();
    assertThat(lines).hasSize(4);
    assertThat(lines.get(0).get("exactMatch").asDouble()).isEqualTo(0.0);
    assertThat(lines.get(0).get("jsonValid").asDouble()).isEqualTo(1.0);
    assertThat(lines.get(0).get("jsonFieldMatch").get("fmeasure").asDouble()).isEqualTo(1.0);
    assertThat(lines.get(1).get("jsonValid").asDouble()).isEqualTo(0.0); // code fence
    assertThat(lines.get(1).get("jsonFieldMatch").get("fmeasure").asDouble()).isEqualTo(0.0);
    assertThat(lines.get(2).get("exactMatch").asDouble()).isEqualTo(1.0);
    assertThat(lines.get(2).get("jsonFieldMatch").isNull()).isTrue(); // target is not JSON
    JsonNode agg = lines.get(3).get("aggregate");
    assertThat(agg.get("count").asInt()).isEqualTo(3);
    assertThat(agg.get("exactMatch").get("mean").asDouble()).isEqualTo(1.0 / 3);
    assertThat(agg.get("jsonFieldMatch").get("scored").asInt()).isEqualTo(2);
    assertThat(agg.get("jsonFieldMatch").get("notScored").asInt()).isEqualTo(1);
    assertThat(agg.get("jsonFieldMatch").get("mean").asDouble()).isEqualTo(0.5);
    assertThat(agg.get("jsonValid").get("low").asDouble()).isLessThanOrEqualTo(2.0 / 3);
    assertThat(agg.get("jsonValid").get("high").asDouble()).isGreaterThanOrEqualTo(2.0 / 3);
  }

  @Test
  void jsonSchemaNeedsASchemaFile(@TempDir Path dir) throws Exception {
    Run none = run(INPUT, "--metrics", "jsonSchema");
    assertThat(none.exitCode()).isEqualTo(1);
    assertThat(none.err()).contains("jsonSchema metric needs --schema FILE");
    Path schema = dir.resolve("s.json");
    Files.writeString(schema, "{\"type\": \"object\", \"required\": [\"name\"]}");
    Run r = run(INPUT, "--metrics", "jsonSchema,rougeL", "--schema", schema.toString());
    assertThat(r.exitCode()).as(r.err()).isZero();
    List<JsonNode> lines = r.lines();
    assertThat(lines.get(0).get("jsonSchema").asDouble()).isEqualTo(1.0);
    assertThat(lines.get(1).get("jsonSchema").asDouble()).isEqualTo(0.0);
    assertThat(lines.get(2).get("rougeL").asDouble()).isEqualTo(1.0);
  }

  @Test
  void badInputNamesTheLine() {
    Run r = run("{\"target\": \"a\", \"prediction\": \"a\"}\n{\"target\": 1}\n");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.err()).contains("line 2");
    Run m = run(INPUT, "--metrics", "bleu");
    assertThat(m.exitCode()).isEqualTo(2);
    assertThat(m.err()).contains("unknown metric: bleu");
  }
}
