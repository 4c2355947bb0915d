package dev.finetune.operator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ReportCommandTest {

  private static String[] run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code =
        new CommandLine(new FineTuneCli())
            .setOut(new PrintWriter(out, true))
            .setErr(new PrintWriter(err, true))
            .execute(args);
    return new String[] {Integer.toString(code), out.toString(), err.toString()};
  }

  @Test
  void rendersACopyOfTheOutputPrefix(@TempDir Path dir) throws Exception {
    Path run = dir.resolve("person-extractor");
    Files.createDirectories(run.resolve("predictions"));
    Files.writeString(
        run.resolve("predictions/baseline.jsonl"),
        "{\"id\": \"1\", \"reference\": \"{\\\"a\\\": 1}\", \"prediction\": \"a is 1\"}\n"
            + "{\"id\": \"2\", \"reference\": \"{\\\"a\\\": 2}\", \"prediction\": \"{\\\"a\\\": 2}\"}\n");
    Files.writeString(
        run.resolve("predictions/tuned.jsonl"),
        "{\"id\": \"1\", \"reference\": \"{\\\"a\\\": 1}\", \"prediction\": \"{\\\"a\\\": 1}\"}\n"
            + "{\"id\": \"2\", \"reference\": \"{\\\"a\\\": 2}\", \"prediction\":"
            + " \"<script>x</script>\"}\n");
    Files.writeString(
        run.resolve("metrics.jsonl"), "{\"step\": 1, \"loss\": 2}\n{\"step\": 2, \"loss\": 1}\n");
    Path html = dir.resolve("r.html");
    String[] r = run("report", run.toString(), "-o", html.toString(), "--focus", "jsonFieldMatch");
    assertThat(r[0]).as(r[2]).isEqualTo("0");
    assertThat(r[1]).contains("wrote " + html).contains("2 examples");
    String page = Files.readString(html);
    assertThat(page)
        .contains("<h1>person-extractor</h1>")
        .contains("<tr data-metric=\"jsonFieldMatch\">")
        .contains("<polyline class=\"loss\"")
        .contains("<h3>id 1: jsonFieldMatch 0.0000 &rarr; 1.0000 (+1.0000)</h3>")
        .contains("<h3>id 2: jsonFieldMatch 1.0000 &rarr; 0.0000 (-1.0000)</h3>")
        .contains("&lt;script&gt;x&lt;/script&gt;")
        .doesNotContain("<script>");
  }

  @Test
  void missingPredictionsAreNamed(@TempDir Path dir) {
    String[] r = run("report", dir.toString(), "-o", dir.resolve("r.html").toString());
    assertThat(r[0]).isEqualTo("1");
    assertThat(r[2]).contains("predictions/baseline.jsonl: no such file");
  }
}
