package dev.finetune.operator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune.operator.gcp.storage.FakeGcsServer;
import dev.finetune.operator.gcp.storage.FakeGcsServerExtension;
import dev.finetune.operator.gcp.storage.GcsUri;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

@ExtendWith(FakeGcsServerExtension.class)
class ValidateDatasetCommandTest {
  static final String GEMINI_OK =
      "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"question\"}]},"
          + "{\"role\":\"model\",\"parts\":[{\"text\":\"answer\"}]}]}\n";

  @TempDir Path dir;
  private final FakeGcsServer gcs;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  ValidateDatasetCommandTest(FakeGcsServer gcs) {
    this.gcs = gcs;
  }

  private int run(String... args) {
    CommandLine cmd = new CommandLine(new ValidateDatasetCommand(gcs::objectStore));
    cmd.setOut(new PrintWriter(out, true));
    cmd.setErr(new PrintWriter(err, true));
    return cmd.execute(args);
  }

  private Path file(String name, String content) throws Exception {
    Path p = dir.resolve(name);
    Files.writeString(p, content, StandardCharsets.UTF_8);
    return p;
  }

  @Test
  void validLocalFile() throws Exception {
    Path f = file("train.jsonl", GEMINI_OK.repeat(3));
    int rc = run(f.toString());
    assertThat(rc).as(err.toString()).isZero();
    String sha =
        HexFormat.of()
            .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
    assertThat(out.toString())
        .contains(f + ": valid")
        .contains("format:           gemini (detected)")
        .contains("examples:         3")
        .contains("characters:       42 (prompt 24, answer 18)")
        .contains("estimated tokens: 12")
        .contains("sha256:           " + sha)
        .endsWith("dataset is valid" + System.lineSeparator());
  }

  @Test
  void invalidFileExitsOneWithLineNumbers() throws Exception {
    Path f =
        file(
            "train.jsonl",
            GEMINI_OK
                + "\n"
                + "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"q\"}]},"
                + "{\"role\":\"user\",\"parts\":[{\"text\":\"q\"}]}]}\n");
    int rc = run(f.toString(), "--format", "gemini");
    assertThat(rc).isEqualTo(1);
    assertThat(out.toString())
        .contains(f + ": INVALID (1 error)")
        .contains(
            "    "
                + f
                + ":3: contents[1].role: expected role \"model\" after \"user\", found \"user\"")
        .contains("warning: " + f + ": 1 blank line(s) skipped, the first at line 2")
        .contains("dataset is INVALID");
  }

  @Test
  void secondFileIsCheckedAgainstTheFirstFilesFormat() throws Exception {
    Path train = file("train.jsonl", GEMINI_OK);
    Path val = file("val.jsonl", "{\"prompt\":\"a\",\"completion\":\"b\"}\n");
    assertThat(run(train.toString(), val.toString())).isEqualTo(1);
    assertThat(out.toString()).contains(val + ":1: contents: required field is missing");
  }

  @Test
  void jsonOutput() throws Exception {
    Path f = file("train.jsonl", GEMINI_OK + "[]\n");
    int rc = run("--json", "--max-errors", "5", f.toString());
    assertThat(rc).isEqualTo(1);
    JsonNode json = new ObjectMapper().readTree(out.toString());
    assertThat(json.get("valid").asBoolean()).isFalse();
    assertThat(json.get("format").asText()).isEqualTo("gemini");
    assertThat(json.get("examples").asLong()).isEqualTo(1);
    assertThat(json.get("errorCount").asLong()).isEqualTo(1);
    assertThat(json.get("errors").get(0).asText())
        .isEqualTo(f + ":2: expected a JSON object per line, found an array");
    assertThat(json.get("sha256").get(f.toString()).asText()).hasSize(64);
    JsonNode file = json.get("files").get(0);
    assertThat(file.get("errors").get(0).get("line").asLong()).isEqualTo(2);
  }

  @Test
  void missingFileExitsTwo() {
    int rc = run(dir.resolve("nope.jsonl").toString());
    assertThat(rc).isEqualTo(2);
    assertThat(err.toString())
        .contains("validate-dataset: " + dir.resolve("nope.jsonl") + ": file not found");
  }

  @Test
  void usageErrorsExitTwo() {
    assertThat(run("--format", "csv", "x.jsonl")).isEqualTo(2);
    assertThat(err.toString()).contains("unknown dataset format \"csv\"");
    assertThat(run()).isEqualTo(2);
    assertThat(run("gs://UPPER/x.jsonl")).isEqualTo(2);
    assertThat(err.toString()).contains("bucket name \"UPPER\"");
  }

  @Test
  void gcsObjects() throws Exception {
    String bucket = gcs.newBucket("cli");
    GcsUri train = GcsUri.of(bucket, "train.jsonl");
    gcs.objectStore().write(train, GEMINI_OK.getBytes(StandardCharsets.UTF_8));
    assertThat(run(train.toString())).as(err.toString()).isZero();
    assertThat(out.toString()).contains(train + ": valid");

    assertThat(run("gs://" + bucket + "/x.jsonl")).isEqualTo(2);
    assertThat(err.toString())
        .contains("validate-dataset: gs://" + bucket + "/x.jsonl: object not found");
    assertThat(run("gs://missing-bucket-cli/x.jsonl")).isEqualTo(2);
    assertThat(err.toString())
        .contains("gs://missing-bucket-cli/x.jsonl: bucket \"missing-bucket-cli\" not found");
  }
}
