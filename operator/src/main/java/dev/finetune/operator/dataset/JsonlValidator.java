package dev.finetune.operator.dataset;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Validates one JSONL file, streaming: a pure function of the bytes of an {@link InputStream} and
 * the {@link ValidationOptions}, safe to run on any thread (the operator runs it off the reconcile
 * thread). Memory is bounded by a 256 KiB read buffer plus the longest accepted line.
 *
 * <h2>Rules</h2>
 *
 * <ul>
 *   <li>One JSON object per physical line ({@code \n}); {@code \r\n} is accepted. Line numbers in
 *       messages are 1-based physical lines, blank lines included.
 *   <li>A UTF-8 byte order mark at the start of the file is accepted (with a warning); anywhere
 *       else it is invalid JSON.
 *   <li>Blank and whitespace-only lines are skipped and counted, with a warning; they are not
 *       errors.
 *   <li>Bytes must be valid UTF-8 (no overlong forms, no surrogates).
 *   <li>Duplicate keys in any object are errors: which value a trainer would use is undefined.
 *   <li>Keys a format does not define are ignored (e.g. {@code "id"}, {@code "metadata"}); their
 *       values are still checked to be well-formed JSON.
 *   <li>Every text (prompt, completion, message content, part text) must be a string that is not
 *       empty or whitespace only.
 *   <li>{@code prompt-completion}: {@code prompt} and {@code completion} are required.
 *   <li>{@code messages}: an optional first {@code system} message, then {@code user} and {@code
 *       assistant} alternating, starting with {@code user} and ending with {@code assistant}.
 *   <li>{@code gemini}: {@code contents} turns alternate {@code user} / {@code model}, starting
 *       with {@code user} and ending with {@code model}; each has a non-empty {@code parts} array
 *       of {@code {"text": ...}} objects (only text parts are supported). An optional {@code
 *       systemInstruction} has a {@code parts} array of the same shape and any string {@code role}.
 *   <li>{@code auto}: the first non-blank line decides: {@code contents} means gemini, else {@code
 *       messages} means messages, else {@code prompt} or {@code completion} means
 *       prompt-completion. If none is present validation stops with an error.
 *   <li>A line longer than {@link ValidationOptions#maxLineBytes()} is an error and is skipped
 *       without being buffered. A file longer than {@link ValidationOptions#maxFileBytes()} stops
 *       validation with an error.
 *   <li>A file without examples is an error.
 * </ul>
 *
 * <p>Only the first problem of each line is reported; {@code errorCount} counts lines with problems
 * plus file-level problems.
 *
 * <h2>Statistics</h2>
 *
 * Characters are Unicode code points of the text fields. The token estimate is, per text field,
 * ceil(UTF-8 bytes / 4): close to BPE tokenizers of current open models for English prose (about 4
 * bytes per token), an underestimate for code and for CJK scripts (often 1 token per 3-byte
 * character). It sizes the job; it is not a bill. SHA-256 covers the exact bytes of the object,
 * byte order mark included.
 */
public final class JsonlValidator {

  private JsonlValidator() {}

  static JsonFactory jsonFactory(int maxLineBytes) {
    return JsonFactory.builder()
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .streamReadConstraints(
            StreamReadConstraints.builder()
                .maxStringLength(
                    Math.max(maxLineBytes, StreamReadConstraints.DEFAULT_MAX_STRING_LEN))
                .build())
        .build();
  }

  /**
   * Validates {@code in} (not closed here).
   *
   * @param name the file name used in messages
   * @throws IOException when reading fails (not for invalid content, which is in the result)
   * @throws java.util.concurrent.CancellationException when cancelled or interrupted
   */
  public static FileValidationResult validate(String name, InputStream in, ValidationOptions opts)
      throws IOException {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is not available", e);
    }
    LineReader reader =
        new LineReader(in, sha, opts.maxLineBytes(), opts.maxFileBytes(), opts.cancelled());
    ExampleParser parser = new ExampleParser(jsonFactory(opts.maxLineBytes()));
    Issues issues = new Issues(name, opts.maxErrors());
    List<String> warnings = new ArrayList<>();

    DatasetFormat format = opts.format() == DatasetFormat.AUTO ? null : opts.format();
    long records = 0;
    long examples = 0;
    long blank = 0;
    long firstBlank = 0;
    long prompt = 0;
    long answer = 0;
    long tokens = 0;
    boolean complete = true;

    try {
      while (reader.next()) {
        long ln = reader.lineNumber();
        if (reader.tooLong()) {
          records++;
          issues.add(
              ln,
              "",
              "line is "
                  + reader.totalLength()
                  + " bytes, longer than the limit of "
                  + opts.maxLineBytes()
                  + " bytes");
          reader.trimBuffers();
          continue;
        }
        byte[] a = reader.array();
        int s = reader.start();
        int e = s + reader.length();
        if (ln == 1
            && e - s >= 3
            && a[s] == (byte) 0xEF
            && a[s + 1] == (byte) 0xBB
            && a[s + 2] == (byte) 0xBF) {
          s += 3;
          warnings.add(
              name
                  + ": starts with a UTF-8 byte order mark; accepted, but readers must skip it"
                  + " (Python: encoding=\"utf-8-sig\")");
        }
        if (e - s >= 3
            && a[s] == (byte) 0xEF
            && a[s + 1] == (byte) 0xBB
            && a[s + 2] == (byte) 0xBF) {
          // The JSON parser would silently skip it; line-by-line readers would not.
          records++;
          issues.add(
              ln,
              "",
              "unexpected byte order mark (U+FEFF) at the start of the line; it is only accepted"
                  + " at the start of the file");
          continue;
        }
        if (e > s && a[e - 1] == '\r') {
          e--;
        }
        if (isBlank(a, s, e)) {
          if (blank++ == 0) {
            firstBlank = ln;
          }
          continue;
        }
        records++;
        int bad = Utf8.firstInvalid(a, s, e);
        if (bad >= 0) {
          issues.add(
              ln,
              "",
              String.format(
                  "invalid UTF-8: byte 0x%02x at byte %d of the line does not start a valid"
                      + " UTF-8 sequence",
                  a[bad] & 0xff, bad - s + 1));
          continue;
        }
        if (format == null) {
          try {
            format = parser.detect(a, s, e - s);
          } catch (ExampleParser.LineError le) {
            issues.add(ln, le.path, le.getMessage());
            if (le.fatal) {
              complete = false;
              break;
            }
            continue; // not an object: detect from the next line
          }
        }
        try {
          parser.validate(format, a, s, e - s);
          examples++;
          prompt += parser.promptChars;
          answer += parser.answerChars;
          tokens += parser.tokens;
        } catch (ExampleParser.LineError le) {
          issues.add(ln, le.path, le.getMessage());
        }
        if (e - s > LineReader.BUFFER_SIZE) {
          reader.trimBuffers();
        }
      }
    } catch (LineReader.FileTooLargeException tooLarge) {
      complete = false;
      issues.add(
          0, "", tooLarge.getMessage() + "; validation stopped after line " + reader.lineNumber());
    }
    if (records == 0 && issues.count == 0) {
      issues.add(
          0,
          "",
          blank == 0
              ? "no examples: the file is empty"
              : "no examples: the file has only blank lines");
    }
    if (blank > 0) {
      warnings.add(name + ": " + blank + " blank line(s) skipped, the first at line " + firstBlank);
    }
    String digest = complete ? HexFormat.of().formatHex(sha.digest()) : null;
    return new FileValidationResult(
        name,
        format,
        examples,
        blank,
        reader.bytesRead(),
        prompt,
        answer,
        tokens,
        digest,
        complete,
        issues.count,
        issues.kept,
        warnings);
  }

  private static boolean isBlank(byte[] a, int from, int to) {
    for (int i = from; i < to; i++) {
      byte b = a[i];
      if (b != ' ' && b != '\t' && b != '\r') {
        return false;
      }
    }
    return true;
  }

  private static final class Issues {
    final String file;
    final int max;
    final List<ValidationIssue> kept = new ArrayList<>();
    long count;

    Issues(String file, int max) {
      this.file = file;
      this.max = max;
    }

    void add(long line, String path, String message) {
      count++;
      if (kept.size() < max) {
        kept.add(new ValidationIssue(file, line, path, message));
      }
    }
  }
}
