package dev.finetune.operator.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JsonlValidatorTest {

  static final String GEMINI_OK =
      "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"q\"}]},"
          + "{\"role\":\"model\",\"parts\":[{\"text\":\"a\"}]}]}";
  static final String PC_OK = "{\"prompt\":\"q\",\"completion\":\"a\"}";
  static final String MSG_OK =
      "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
          + "{\"role\":\"assistant\",\"content\":\"a\"}]}";

  static FileValidationResult validate(byte[] content, DatasetFormat format) throws IOException {
    return JsonlValidator.validate(
        "train.jsonl",
        new ByteArrayInputStream(content),
        ValidationOptions.defaults().withFormat(format));
  }

  static FileValidationResult validate(String content, DatasetFormat format) throws IOException {
    return validate(content.getBytes(StandardCharsets.UTF_8), format);
  }

  static byte[] resource(String name) throws IOException {
    try (InputStream in = JsonlValidatorTest.class.getResourceAsStream("/dataset/" + name)) {
      return Objects.requireNonNull(in, name).readAllBytes();
    }
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  static String lines(String... l) {
    return String.join("\n", l) + "\n";
  }

  /** Asserts exactly one error, on {@code line}, rendered as {@code expected}. */
  static void assertSingleError(FileValidationResult r, long line, String expected) {
    assertThat(r.errors()).as("errors").hasSize(1);
    assertThat(r.errorCount()).isEqualTo(1);
    assertThat(r.valid()).isFalse();
    assertThat(r.errors().get(0).line()).isEqualTo(line);
    assertThat(r.errors().get(0)).hasToString(expected);
  }

  @Nested
  class ValidFiles {
    @Test
    void promptCompletion() throws Exception {
      byte[] bytes = resource("prompt-completion-valid.jsonl");
      FileValidationResult r = validate(bytes, DatasetFormat.AUTO);
      assertThat(r.errors()).isEmpty();
      assertThat(r.valid()).isTrue();
      assertThat(r.format()).isEqualTo(DatasetFormat.PROMPT_COMPLETION);
      assertThat(r.examples()).isEqualTo(3);
      assertThat(r.promptCharacters()).isEqualTo(35);
      assertThat(r.answerCharacters()).isEqualTo(11);
      assertThat(r.estimatedTokens()).isEqualTo(17);
      assertThat(r.bytes()).isEqualTo(bytes.length);
      assertThat(r.sha256()).isEqualTo(sha256(bytes));
      assertThat(r.complete()).isTrue();
      assertThat(r.warnings()).isEmpty();
    }

    @Test
    void messages() throws Exception {
      byte[] bytes = resource("messages-valid.jsonl");
      FileValidationResult r = validate(bytes, DatasetFormat.AUTO);
      assertThat(r.errors()).isEmpty();
      assertThat(r.format()).isEqualTo(DatasetFormat.MESSAGES);
      assertThat(r.examples()).isEqualTo(2);
      assertThat(r.promptCharacters()).isEqualTo(19);
      assertThat(r.answerCharacters()).isEqualTo(8);
      assertThat(r.estimatedTokens()).isEqualTo(10);
      assertThat(r.sha256()).isEqualTo(sha256(bytes));
    }

    @Test
    void gemini() throws Exception {
      byte[] bytes = resource("gemini-valid.jsonl");
      FileValidationResult r = validate(bytes, DatasetFormat.AUTO);
      assertThat(r.errors()).isEmpty();
      assertThat(r.format()).isEqualTo(DatasetFormat.GEMINI);
      assertThat(r.examples()).isEqualTo(3);
      assertThat(r.promptCharacters()).isEqualTo(40);
      assertThat(r.answerCharacters()).isEqualTo(23);
      assertThat(r.characters()).isEqualTo(63);
      assertThat(r.estimatedTokens()).isEqualTo(20);
      assertThat(r.sha256()).isEqualTo(sha256(bytes));
    }

    @Test
    void explicitFormatMatchesAuto() throws Exception {
      byte[] bytes = resource("gemini-valid.jsonl");
      assertThat(validate(bytes, DatasetFormat.GEMINI))
          .isEqualTo(validate(bytes, DatasetFormat.AUTO));
    }

    @Test
    void lastLineWithoutNewline() throws Exception {
      FileValidationResult r = validate(PC_OK + "\n" + PC_OK, DatasetFormat.PROMPT_COMPLETION);
      assertThat(r.errors()).isEmpty();
      assertThat(r.examples()).isEqualTo(2);
    }

    @Test
    void sameResultWhateverTheReadSizes() throws Exception {
      // Lines spanning reads of 1..7 bytes exercise the line assembly path.
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < 200; i++) {
        sb.append(i % 17 == 0 ? "\n" : i % 13 == 0 ? "{\"prompt\":1}\n" : GEMINI_OK + "\r\n");
      }
      byte[] bytes = sb.toString().getBytes(StandardCharsets.UTF_8);
      FileValidationResult whole = validate(bytes, DatasetFormat.AUTO);
      FileValidationResult trickled =
          JsonlValidator.validate(
              "train.jsonl", new TrickleInputStream(bytes), ValidationOptions.defaults());
      assertThat(trickled).isEqualTo(whole);
      assertThat(whole.errorCount()).isGreaterThan(0);
      assertThat(whole.sha256()).isEqualTo(sha256(bytes));
    }
  }

  @Nested
  class Encoding {
    @Test
    void byteOrderMarkAccepted() throws Exception {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      b.write(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF});
      b.write(lines(PC_OK, PC_OK).getBytes(StandardCharsets.UTF_8));
      byte[] bytes = b.toByteArray();
      FileValidationResult r = validate(bytes, DatasetFormat.AUTO);
      assertThat(r.errors()).isEmpty();
      assertThat(r.format()).isEqualTo(DatasetFormat.PROMPT_COMPLETION);
      assertThat(r.examples()).isEqualTo(2);
      assertThat(r.sha256()).isEqualTo(sha256(bytes));
      assertThat(r.warnings()).singleElement().asString().contains("byte order mark");
    }

    @Test
    void byteOrderMarkAfterLineOneIsAnError() throws Exception {
      FileValidationResult r =
          validate(PC_OK + "\n\uFEFF" + PC_OK + "\n", DatasetFormat.PROMPT_COMPLETION);
      assertSingleError(
          r,
          2,
          "train.jsonl:2: unexpected byte order mark (U+FEFF) at the start of the line; it is"
              + " only accepted at the start of the file");
    }

    @Test
    void crlfAccepted() throws Exception {
      FileValidationResult r = validate(PC_OK + "\r\n" + PC_OK + "\r\n", DatasetFormat.AUTO);
      assertThat(r.errors()).isEmpty();
      assertThat(r.examples()).isEqualTo(2);
      assertThat(r.blankLines()).isZero();
    }

    @Test
    void invalidUtf8() throws Exception {
      byte[] bad =
          "{\"prompt\":\"caf\u00e9\",\"completion\":\"x\"}\n".getBytes(StandardCharsets.ISO_8859_1);
      byte[] bytes = concat(lines(PC_OK).getBytes(StandardCharsets.UTF_8), bad);
      FileValidationResult r = validate(bytes, DatasetFormat.PROMPT_COMPLETION);
      assertSingleError(
          r,
          2,
          "train.jsonl:2: invalid UTF-8: byte 0xe9 at byte 15 of the line does not start a"
              + " valid UTF-8 sequence");
      assertThat(r.examples()).isEqualTo(1);
      assertThat(r.sha256()).isEqualTo(sha256(bytes));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
      "overlong slash, C0AF",
      "surrogate, EDA080",
      "above U+10FFFF, F4908080",
      "lone continuation, 80",
      "truncated sequence, E282",
      "overlong three-byte, E08080",
    })
    void invalidUtf8Sequences(String what, String hex) throws Exception {
      byte[] line =
          concat(
              "{\"prompt\":\"".getBytes(StandardCharsets.UTF_8),
              HexFormat.of().parseHex(hex),
              "\",\"completion\":\"x\"}\n".getBytes(StandardCharsets.UTF_8));
      FileValidationResult r = validate(line, DatasetFormat.PROMPT_COMPLETION);
      assertThat(r.errors())
          .singleElement()
          .asString()
          .startsWith(
              "train.jsonl:1: invalid UTF-8: byte 0x"
                  + hex.substring(0, 2).toLowerCase()
                  + " at byte 12 ");
    }

    @Test
    void countsCodePointsNotUtf16Units() throws Exception {
      FileValidationResult r =
          validate(
              "{\"prompt\":\"\uD83D\uDE42\uD83D\uDE42\",\"completion\":\"\u00e9\"}\n",
              DatasetFormat.AUTO);
      assertThat(r.promptCharacters()).isEqualTo(2);
      assertThat(r.answerCharacters()).isEqualTo(1);
      assertThat(r.estimatedTokens()).isEqualTo(2 + 1); // 8 bytes -> 2, 2 bytes -> 1
    }

    @Test
    void escapesAreMeasuredAsTheirDecodedText() throws Exception {
      // prompt decodes to: a " \ / <BS> <FF> LF CR TAB e-acute (U+00E9) smiley (surrogate pair)
      // = 11 code points, 1+1+1+1+1+1+1+1+1+2+4 = 15 UTF-8 bytes -> 4 tokens
      String prompt = "a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude42";
      FileValidationResult r =
          validate(
              "{\"prompt\":\"" + prompt + "\",\"completion\":\"\\u3000x\"}\n", DatasetFormat.AUTO);
      assertThat(r.errors()).isEmpty();
      assertThat(r.promptCharacters()).isEqualTo(11);
      assertThat(r.answerCharacters()).isEqualTo(2);
      assertThat(r.estimatedTokens()).isEqualTo(4 + 1);
    }

    @Test
    void escapedAndUnicodeWhitespaceIsBlank() throws Exception {
      FileValidationResult r =
          validate(
              lines(
                  "{\"prompt\":\"\\n\\t \\u0020\",\"completion\":\"x\"}",
                  "{\"prompt\":\"\u3000\u00a0\",\"completion\":\"x\"}",
                  "{\"prompt\":\"\\u3000\",\"completion\":\"x\"}",
                  "{\"prompt\":\"\\u000b\",\"completion\":\"x\"}",
                  "{\"prompt\":\"a\\x\",\"completion\":\"x\"}",
                  "{\"prompt\":\"tab\there\",\"completion\":\"x\"}"),
              DatasetFormat.AUTO);
      assertThat(JsonlValidatorTest.strings(r))
          .containsExactly(
              "train.jsonl:1: prompt: text is blank (only whitespace characters)",
              "train.jsonl:2: prompt: text is blank (only whitespace characters)",
              "train.jsonl:3: prompt: text is blank (only whitespace characters)",
              "train.jsonl:5: prompt: invalid JSON: invalid escape sequence in a string"
                  + " (at byte 14 of the line)",
              "train.jsonl:6: prompt: invalid JSON: unescaped control character in a string"
                  + " (escape it, e.g. \\n) (at byte 15 of the line)");
    }
  }

  @Nested
  class Lines {
    @Test
    void blankLinesAreSkippedWithAWarning() throws Exception {
      FileValidationResult r =
          validate(lines(PC_OK, "", "   \t", PC_OK, "{\"prompt\":\"\"}"), DatasetFormat.AUTO);
      assertThat(r.examples()).isEqualTo(2);
      assertThat(r.blankLines()).isEqualTo(2);
      assertThat(r.warnings())
          .containsExactly("train.jsonl: 2 blank line(s) skipped, the first at line 2");
      // physical line numbers are kept
      assertSingleError(r, 5, "train.jsonl:5: prompt: text is empty");
    }

    @Test
    void multiMegabyteLineIsFine() throws Exception {
      String big = "x".repeat(5 * 1024 * 1024);
      FileValidationResult r =
          validate(
              lines(PC_OK, "{\"prompt\":\"" + big + "\",\"completion\":\"y\"}", PC_OK),
              DatasetFormat.PROMPT_COMPLETION);
      assertThat(r.errors()).isEmpty();
      assertThat(r.examples()).isEqualTo(3);
      assertThat(r.promptCharacters()).isEqualTo(big.length() + 2);
    }

    @Test
    void lineOverTheLimitIsAnErrorNotAnOutOfMemory() throws Exception {
      String big = "x".repeat(3 * 1024 * 1024);
      byte[] bytes =
          lines(PC_OK, "{\"prompt\":\"" + big + "\",\"completion\":\"y\"}", "[]")
              .getBytes(StandardCharsets.UTF_8);
      FileValidationResult r =
          JsonlValidator.validate(
              "train.jsonl",
              new TrickleInputStream(bytes, 100_000),
              ValidationOptions.defaults().withMaxLineBytes(1024 * 1024));
      assertThat(r.errorCount()).isEqualTo(2);
      assertThat(r.errors().get(0))
          .hasToString(
              "train.jsonl:2: line is "
                  + (big.length() + 30)
                  + " bytes, longer than the limit of 1048576 bytes");
      assertThat(r.errors().get(1))
          .hasToString("train.jsonl:3: expected a JSON object per line, found an array");
      assertThat(r.sha256()).isEqualTo(sha256(bytes));
    }

    @Test
    void fileOverTheLimitStops() throws Exception {
      byte[] bytes = lines(PC_OK, PC_OK, PC_OK).getBytes(StandardCharsets.UTF_8);
      FileValidationResult r =
          JsonlValidator.validate(
              "train.jsonl",
              new ByteArrayInputStream(bytes),
              ValidationOptions.defaults().withMaxFileBytes(40));
      assertThat(r.complete()).isFalse();
      assertThat(r.sha256()).isNull();
      assertThat(r.errors())
          .singleElement()
          .hasToString(
              "train.jsonl: file is larger than the limit of 40 bytes; validation stopped after"
                  + " line 0");
    }

    @Test
    void emptyFile() throws Exception {
      assertSingleError(
          validate("", DatasetFormat.AUTO), 0, "train.jsonl: no examples: the file is empty");
    }

    @Test
    void onlyBlankLines() throws Exception {
      assertSingleError(
          validate("\n \r\n\n", DatasetFormat.GEMINI),
          0,
          "train.jsonl: no examples: the file has only blank lines");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
        delimiter = '|',
        value = {
          "[1,2] | an array",
          "\"x\" | a string",
          "42 | a number",
          "null | null",
          "true | a boolean",
        })
    void notAnObject(String line, String found) throws Exception {
      FileValidationResult r = validate(lines(PC_OK, line), DatasetFormat.PROMPT_COMPLETION);
      assertSingleError(r, 2, "train.jsonl:2: expected a JSON object per line, found " + found);
    }

    @Test
    void truncatedJson() throws Exception {
      FileValidationResult r =
          validate(lines(PC_OK, "{\"prompt\": \"abc"), DatasetFormat.PROMPT_COMPLETION);
      assertSingleError(
          r,
          2,
          "train.jsonl:2: prompt: truncated JSON: the line ends before the JSON value is complete");
    }

    @Test
    void truncatedObject() throws Exception {
      FileValidationResult r =
          validate(lines("{\"contents\": [{\"role\": \"user\""), DatasetFormat.GEMINI);
      assertSingleError(
          r,
          1,
          "train.jsonl:1: contents[0].role: truncated JSON: the line ends before the JSON value"
              + " is complete");
    }

    @Test
    void syntaxError() throws Exception {
      FileValidationResult r =
          validate(
              lines("{\"prompt\": 'a', \"completion\": \"b\"}"), DatasetFormat.PROMPT_COMPLETION);
      assertThat(r.errors())
          .singleElement()
          .asString()
          .isEqualTo(
              "train.jsonl:1: prompt: invalid JSON: unexpected character (at byte 12 of the"
                  + " line)");
    }

    @Test
    void twoObjectsOnOneLine() throws Exception {
      FileValidationResult r = validate(lines(PC_OK + " " + PC_OK), DatasetFormat.AUTO);
      assertSingleError(
          r,
          1,
          "train.jsonl:1: unexpected data after the JSON object; each line must hold exactly one"
              + " example");
    }

    @Test
    void duplicateKeys() throws Exception {
      assertSingleError(
          validate(
              lines("{\"prompt\":\"a\",\"prompt\":\"b\",\"completion\":\"c\"}"),
              DatasetFormat.PROMPT_COMPLETION),
          1,
          "train.jsonl:1: prompt: duplicate key \"prompt\"; each key may appear only once per"
              + " object");
      assertSingleError(
          validate(
              lines(
                  GEMINI_OK,
                  "{\"contents\":[{\"role\":\"user\",\"role\":\"model\",\"parts\":[]}]}"),
              DatasetFormat.AUTO),
          2,
          "train.jsonl:2: contents[0].role: duplicate key \"role\"; each key may appear only"
              + " once per object");
    }

    @Test
    void duplicateKeysInsideIgnoredValues() throws Exception {
      FileValidationResult r =
          validate(
              lines(
                  "{\"prompt\":\"a\",\"completion\":\"b\",\"meta\":{\"x\":1,\"x\":2}}",
                  "{\"prompt\":\"a\",\"completion\":\"b\",\"meta\":[{\"y\":1,\"y\":2}]}"),
              DatasetFormat.PROMPT_COMPLETION);
      assertThat(strings(r))
          .containsExactly(
              "train.jsonl:1: <field>.<field>: duplicate key \"<field>\"; each key may appear only"
                  + " once per object",
              "train.jsonl:2: <field>[0].<field>: duplicate key \"<field>\"; each key may appear"
                  + " only once per object");
    }

    @Test
    void keepsFirstErrorsAndCountsAll() throws Exception {
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < 50; i++) {
        sb.append("[]\n");
      }
      FileValidationResult r =
          JsonlValidator.validate(
              "t.jsonl",
              new ByteArrayInputStream(sb.toString().getBytes(StandardCharsets.UTF_8)),
              ValidationOptions.defaults().withFormat(DatasetFormat.GEMINI).withMaxErrors(5));
      assertThat(r.errorCount()).isEqualTo(50);
      assertThat(r.errors()).hasSize(5);
      assertThat(r.errors().get(4).line()).isEqualTo(5);
    }

    @Test
    void cancellation() {
      AtomicInteger polls = new AtomicInteger();
      byte[] bytes = lines(PC_OK).repeat(100_000).getBytes(StandardCharsets.UTF_8);
      assertThatThrownBy(
              () ->
                  JsonlValidator.validate(
                      "t.jsonl",
                      new ByteArrayInputStream(bytes),
                      ValidationOptions.defaults()
                          .withCancellation(() -> polls.incrementAndGet() > 2)))
          .isInstanceOf(CancellationException.class);
      assertThat(polls.get()).isEqualTo(3);
    }
  }

  @Nested
  class AutoDetection {
    @Test
    void unknownKeys() throws Exception {
      FileValidationResult r =
          validate(lines("", "{\"text\": \"a\", \"label\": 1}", PC_OK), DatasetFormat.AUTO);
      assertSingleError(
          r,
          2,
          "train.jsonl:2: cannot detect the dataset format: the first example has none of the"
              + " keys \"contents\" (gemini), \"messages\" (messages) or \"prompt\"/\"completion\""
              + " (prompt-completion); found 2 other key(s); set the format explicitly");
      assertThat(r.format()).isNull();
      assertThat(r.complete()).isFalse();
      assertThat(r.sha256()).isNull();
    }

    @Test
    void firstLineNotJsonIsReportedAndDetectionMovesOn() throws Exception {
      FileValidationResult r = validate(lines("hello", PC_OK), DatasetFormat.AUTO);
      assertThat(r.format()).isEqualTo(DatasetFormat.PROMPT_COMPLETION);
      assertThat(r.examples()).isEqualTo(1);
      assertThat(r.errors())
          .singleElement()
          .asString()
          .startsWith("train.jsonl:1: invalid JSON: unrecognized token (not a string")
          .doesNotContain("hello");
    }

    @Test
    void firstLineNotObject() throws Exception {
      FileValidationResult r = validate(lines("[]", GEMINI_OK), DatasetFormat.AUTO);
      assertSingleError(r, 1, "train.jsonl:1: expected a JSON object per line, found an array");
      assertThat(r.format()).isEqualTo(DatasetFormat.GEMINI);
      assertThat(r.sha256()).isNotNull();
    }

    @Test
    void laterLinesMustMatchDetectedFormat() throws Exception {
      FileValidationResult r = validate(lines(MSG_OK, GEMINI_OK), DatasetFormat.AUTO);
      assertThat(r.format()).isEqualTo(DatasetFormat.MESSAGES);
      assertSingleError(r, 2, "train.jsonl:2: messages: required field is missing");
    }

    @Test
    void geminiWinsOverOtherKeys() throws Exception {
      assertThat(
              validate(
                      lines(GEMINI_OK.substring(0, GEMINI_OK.length() - 1) + ",\"prompt\":\"x\"}"),
                      DatasetFormat.AUTO)
                  .format())
          .isEqualTo(DatasetFormat.GEMINI);
    }
  }

  @Nested
  class PromptCompletion {
    @ParameterizedTest(name = "{0}")
    @CsvSource(
        delimiter = '|',
        value = {
          "{\"completion\":\"a\"} | prompt: required field is missing",
          "{\"prompt\":\"a\"} | completion: required field is missing",
          "{\"prompt\":1,\"completion\":\"a\"} | prompt: expected a string, found a number",
          "{\"prompt\":\"q\",\"completion\":null} | completion: expected a string, found null",
          "{\"prompt\":[\"q\"],\"completion\":\"a\"} | prompt: expected a string, found an array",
          "{\"prompt\":\"\",\"completion\":\"a\"} | prompt: text is empty",
          "{\"prompt\":\"q\",\"completion\":\" \\n\"} | completion: text is blank (only whitespace"
              + " characters)",
        })
    void invalid(String line, String message) throws Exception {
      assertSingleError(
          validate(lines(PC_OK, line), DatasetFormat.PROMPT_COMPLETION),
          2,
          "train.jsonl:2: " + message);
    }
  }

  @Nested
  class Messages {
    static String msg(String role, String content) {
      return "{\"role\":\"" + role + "\",\"content\":\"" + content + "\"}";
    }

    static String line(String... msgs) {
      return "{\"messages\":[" + String.join(",", msgs) + "]}";
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
        delimiter = '|',
        value = {
          "user,user,assistant | messages[1].role: expected role \"assistant\" after \"user\","
              + " found \"user\"",
          "user,assistant,assistant | messages[2].role: expected role \"user\" after"
              + " \"assistant\", found \"assistant\"",
          "assistant,user | messages[0].role: expected \"user\" as the first message, found"
              + " \"assistant\"",
          "system,assistant | messages[1].role: expected \"user\" as the first message after"
              + " the \"system\" message, found \"assistant\"",
          "user,system,assistant | messages[1].role: a \"system\" message is only allowed as the"
              + " first message",
          "user,assistant,user | messages[2].role: the last message must have role"
              + " \"assistant\" (the response to learn), found \"user\"",
          "user,bot | messages[1].role: unknown role; expected \"system\", \"user\" or"
              + " \"assistant\"",
          "system | messages: has only a \"system\" message; needs \"user\" and \"assistant\""
              + " messages",
        })
    void roleOrder(String roles, String message) throws Exception {
      String[] msgs =
          java.util.Arrays.stream(roles.split(",")).map(r -> msg(r, "t")).toArray(String[]::new);
      assertSingleError(
          validate(lines(MSG_OK, line(msgs)), DatasetFormat.MESSAGES),
          2,
          "train.jsonl:2: " + message);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
        delimiter = '|',
        value = {
          "{\"messages\":[]} | messages: must contain at least one message",
          "{\"messages\":{}} | messages: expected an array, found an object",
          "{\"messages\":[\"hi\"]} | messages[0]: expected an object, found a string",
          "{\"messages\":[{\"content\":\"x\"}]} | messages[0].role: required field is missing;"
              + " expected \"system\", \"user\" or \"assistant\"",
          "{\"messages\":[{\"role\":\"user\"}]} | messages[0].content: required field is missing",
          "{\"messages\":[{\"role\":1,\"content\":\"x\"}]} | messages[0].role: expected a string,"
              + " found a number",
          "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]} |"
              + " messages[0].content: expected a string, found an array",
          "{\"messages\":[{\"role\":\"user\",\"content\":\"\"}]} | messages[0].content: text is"
              + " empty",
          "{\"msgs\":[]} | messages: required field is missing",
        })
    void shape(String line, String message) throws Exception {
      assertSingleError(
          validate(lines(line), DatasetFormat.MESSAGES), 1, "train.jsonl:1: " + message);
    }
  }

  @Nested
  class Gemini {
    static String turn(String role, String text) {
      return "{\"role\":\"" + role + "\",\"parts\":[{\"text\":\"" + text + "\"}]}";
    }

    static String line(String... turns) {
      return "{\"contents\":[" + String.join(",", turns) + "]}";
    }

    @Test
    void wrongAlternation() throws Exception {
      FileValidationResult r =
          validate(
              lines(
                  GEMINI_OK,
                  GEMINI_OK,
                  line(
                      turn("user", "a"), turn("model", "b"), turn("user", "c"), turn("user", "d"))),
              DatasetFormat.GEMINI);
      assertSingleError(
          r,
          3,
          "train.jsonl:3: contents[3].role: expected role \"model\" after \"user\", found"
              + " \"user\"");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
        delimiter = '|',
        value = {
          "model,user | contents[0].role: expected \"user\" as the first turn, found \"model\"",
          "user,model,model | contents[2].role: expected role \"user\" after \"model\", found"
              + " \"model\"",
          "user | contents[0].role: the last turn must have role \"model\" (the response to"
              + " learn), found \"user\"",
          "user,assistant | contents[1].role: unknown role; expected \"user\" or \"model\"",
        })
    void roleOrder(String roles, String message) throws Exception {
      String[] turns =
          java.util.Arrays.stream(roles.split(",")).map(r -> turn(r, "t")).toArray(String[]::new);
      assertSingleError(
          validate(lines(line(turns)), DatasetFormat.GEMINI), 1, "train.jsonl:1: " + message);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
        delimiter = '|',
        value = {
          "{} | contents: required field is missing",
          "{\"contents\":[]} | contents: must contain at least one turn",
          "{\"contents\":{}} | contents: expected an array, found an object",
          "{\"contents\":[1]} | contents[0]: expected an object, found a number",
          "{\"contents\":[{\"parts\":[{\"text\":\"a\"}]}]} | contents[0].role: required field is"
              + " missing; expected \"user\" or \"model\"",
          "{\"contents\":[{\"role\":\"user\"}]} | contents[0].parts: required field is missing",
          "{\"contents\":[{\"role\":\"user\",\"parts\":[]}]} | contents[0].parts: must contain at"
              + " least one part",
          "{\"contents\":[{\"role\":\"user\",\"parts\":\"hi\"}]} | contents[0].parts: expected an"
              + " array, found a string",
          "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"\"}]}]} |"
              + " contents[0].parts[0].text: text is empty",
          "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"a\"},{\"text\":7}]}]} |"
              + " contents[0].parts[1].text: expected a string, found a number",
          "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"inlineData\":{}}]}]} |"
              + " contents[0].parts[0].text: required field is missing (only text parts are"
              + " supported)",
          "{\"contents\":[{\"role\":true,\"parts\":[{\"text\":\"a\"}]}]} | contents[0].role:"
              + " expected a string, found a boolean",
          "{\"systemInstruction\":\"be nice\",\"contents\":[]} | systemInstruction: expected an"
              + " object, found a string",
          "{\"systemInstruction\":{\"role\":\"system\"},\"contents\":[]} |"
              + " systemInstruction.parts: required field is missing",
          "{\"systemInstruction\":{\"parts\":[{\"text\":\" \"}]},\"contents\":[]} |"
              + " systemInstruction.parts[0].text: text is blank (only whitespace characters)",
        })
    void shape(String line, String message) throws Exception {
      assertSingleError(
          validate(lines(line), DatasetFormat.GEMINI), 1, "train.jsonl:1: " + message);
    }
  }

  // ---- helpers ----

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  /** Returns short, irregular reads, like a network stream. */
  static final class TrickleInputStream extends InputStream {
    private final byte[] data;
    private final int maxRead;
    private final Random random = new Random(7);
    private int pos;

    TrickleInputStream(byte[] data) {
      this(data, 7);
    }

    TrickleInputStream(byte[] data, int maxRead) {
      this.data = data;
      this.maxRead = maxRead;
    }

    @Override
    public int read() {
      return pos < data.length ? data[pos++] & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (pos >= data.length) {
        return -1;
      }
      int n = Math.min(Math.min(len, 1 + random.nextInt(maxRead)), data.length - pos);
      System.arraycopy(data, pos, b, off, n);
      pos += n;
      return n;
    }
  }

  static List<String> strings(FileValidationResult r) {
    return r.errors().stream().map(Object::toString).toList();
  }
}
