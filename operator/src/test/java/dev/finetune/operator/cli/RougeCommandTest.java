package dev.finetune.operator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class RougeCommandTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private record Run(int exitCode, String out, String err) {
    List<JsonNode> lines() {
      return out.lines()
          .map(
              l -> {
                try {
                  return JSON.readTree(l);
                } catch (IOException e) {
                  throw new AssertionError(l, e);
                }
              })
          .toList();
    }
  }

  private static Run run(String stdin, String... args) {
    RougeCommand command =
        new RougeCommand(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code =
        new CommandLine(command)
            .setOut(new PrintWriter(out, true))
            .setErr(new PrintWriter(err, true))
            .execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  private static final String INPUT =
      """
      {"target": "The quick brown fox jumps over the lazy dog", "prediction": "The quick brown dog jumps on the log."}
      {"target": "dying skies", "prediction": "lying sky"}
      """;

  @Test
  void scoresEachPairAndAggregates() {
    Run r = run(INPUT);
    assertThat(r.exitCode()).as(r.err()).isZero();
    List<JsonNode> lines = r.lines();
    assertThat(lines).hasSize(3);
    JsonNode first = lines.get(0);
    assertThat(first.get("line").asInt()).isEqualTo(1);
    assertThat(first.get("rouge1").get("precision").asDouble()).isEqualTo(0.75);
    assertThat(first.get("rouge1").get("recall").asDouble()).isEqualTo(0.6666666666666666);
    assertThat(first.get("rougeL").get("fmeasure").asDouble()).isEqualTo(0.5882352941176471);
    assertThat(first.get("rougeLsum")).isNotNull();
    assertThat(first.get("rouge2").get("fmeasure").asDouble()).isEqualTo(0.26666666666666666);
    // Stemming: "skies" -> "sky"; "dying"/"lying" -> "die"/"lie".
    assertThat(lines.get(1).get("rouge1").get("fmeasure").asDouble()).isEqualTo(0.5);
    JsonNode agg = lines.get(2).get("aggregate");
    assertThat(agg.get("count").asInt()).isEqualTo(2);
    assertThat(agg.get("rouge1").get("mean").get("fmeasure").asDouble())
        .isEqualTo((0.7058823529411765 + 0.5) / 2);
    assertThat(agg.get("rouge1").get("low")).isNotNull();
    assertThat(agg.get("rouge1").get("high")).isNotNull();
    assertThat(agg.get("bootstrap").get("samples").asInt()).isEqualTo(1000);
  }

  @Test
  void noStemAndMetricSelection() {
    Run r = run(INPUT, "--no-stem", "--metrics", "rouge1,rougeL");
    assertThat(r.exitCode()).as(r.err()).isZero();
    JsonNode second = r.lines().get(1);
    assertThat(second.get("rouge1").get("fmeasure").asDouble()).isZero();
    assertThat(second.has("rouge2")).isFalse();
    assertThat(second.has("rougeLsum")).isFalse();
    assertThat(r.lines().get(2).get("aggregate").get("stem").asBoolean()).isFalse();
    Run stemmed = run(INPUT, "--stem");
    assertThat(stemmed.lines().get(1).get("rouge1").get("fmeasure").asDouble()).isEqualTo(0.5);
  }

  @Test
  void readsFileArgument(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("pairs.jsonl");
    Files.writeString(file, INPUT);
    Run r = run("", file.toString());
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.lines()).hasSize(3);
  }

  @Test
  void malformedInputNamesTheLine() {
    Run r =
        run(
            """
            {"target": "a", "prediction": "b"}

            {"target": "a"}
            """);
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.err()).contains("<stdin>: line 3: missing string field \"prediction\"");
    assertThat(r.out()).isEmpty();

    Run notJson = run("{\"target\": \"a\", \"prediction\": \"b\"}\n{oops\n");
    assertThat(notJson.exitCode()).isEqualTo(1);
    assertThat(notJson.err()).contains("line 2: invalid JSON");
  }

  @Test
  void missingFileAndEmptyInputFail(@TempDir Path dir) {
    Run missing = run("", dir.resolve("nope.jsonl").toString());
    assertThat(missing.exitCode()).isEqualTo(1);
    assertThat(missing.err()).contains("no such file");
    Run empty = run("");
    assertThat(empty.exitCode()).isEqualTo(1);
    assertThat(empty.err()).contains("no input records");
  }

  @Test
  void unknownMetricIsAUsageError() {
    Run r = run(INPUT, "--metrics", "rouge1,bleu");
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).contains("Invalid rouge type: bleu");
  }
}
