package dev.finetune.operator.dataset;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks one JSONL line (already known to be non-blank, valid UTF-8) against a format, with
 * Jackson's streaming parser, and measures its text. Reports the first problem of the line as a
 * {@link LineError}. Not thread-safe; one instance per validation run.
 */
final class ExampleParser {

  /** The first problem found in a line. */
  static final class LineError extends Exception {
    final String path;
    final boolean fatal;

    LineError(String path, String message) {
      this(path, message, false);
    }

    LineError(String path, String message, boolean fatal) {
      super(message, null, false, false);
      this.path = path;
      this.fatal = fatal;
    }
  }

  private final JsonFactory factory;

  // Statistics of the last successfully validated line.
  long promptChars;
  long answerChars;
  long tokens;

  // Measurement of the last string read by measure().
  private long textChars;
  private long textTokens;
  private boolean textBlank;

  // The line being validated, for measuring strings from their bytes.
  private byte[] line;
  private int lineStart;
  private int lineEnd;

  // Accumulated over the parts of one Gemini turn.
  private long turnChars;
  private long turnTokens;

  ExampleParser(JsonFactory factory) {
    this.factory = factory;
  }

  /**
   * Picks the format from the top-level keys of a line. A line that is not a JSON object gives a
   * non-fatal error (detection moves on to the next line); an object without any known key gives a
   * {@linkplain LineError#fatal fatal} one.
   */
  DatasetFormat detect(byte[] a, int off, int len) throws LineError {
    boolean contents = false;
    boolean messages = false;
    boolean prompt = false;
    List<String> keys = new ArrayList<>();
    try (JsonParser p = factory.createParser(a, off, len)) {
      JsonToken t = p.nextToken();
      if (t != JsonToken.START_OBJECT) {
        throw new LineError("", "expected a JSON object per line, found " + describe(t));
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        switch (name) {
          case "contents" -> contents = true;
          case "messages" -> messages = true;
          case "prompt", "completion" -> prompt = true;
          default -> {
            keys.add(name);
          }
        }
        p.nextToken();
        p.skipChildren();
      }
    } catch (JsonProcessingException e) {
      throw parseError(e);
    } catch (IOException e) {
      throw new LineError("", "cannot read line: " + e.getMessage());
    }
    if (contents) {
      return DatasetFormat.GEMINI;
    }
    if (messages) {
      return DatasetFormat.MESSAGES;
    }
    if (prompt) {
      return DatasetFormat.PROMPT_COMPLETION;
    }
    throw new LineError(
        "",
        "cannot detect the dataset format: the first example has none of the keys \"contents\""
            + " (gemini), \"messages\" (messages) or \"prompt\"/\"completion\""
            + " (prompt-completion)"
            + (keys.isEmpty() ? "" : "; found " + keys.size() + " other key(s)")
            + "; set the format explicitly",
        true);
  }

  /** Validates one line; on success the statistics fields describe it. */
  void validate(DatasetFormat format, byte[] a, int off, int len) throws LineError {
    promptChars = 0;
    answerChars = 0;
    tokens = 0;
    line = a;
    lineStart = off;
    lineEnd = off + len;
    try (JsonParser p = factory.createParser(a, off, len)) {
      JsonToken t = p.nextToken();
      if (t != JsonToken.START_OBJECT) {
        throw new LineError("", "expected a JSON object per line, found " + describe(t));
      }
      switch (format) {
        case PROMPT_COMPLETION -> promptCompletion(p);
        case MESSAGES -> messages(p);
        case GEMINI -> gemini(p);
        default -> throw new IllegalArgumentException("not a concrete format: " + format);
      }
      if (p.nextToken() != null) {
        throw new LineError(
            "", "unexpected data after the JSON object; each line must hold exactly one example");
      }
    } catch (JsonProcessingException e) {
      throw parseError(e);
    } catch (IOException e) {
      throw new LineError("", "cannot read line: " + e.getMessage());
    }
  }

  // ---- prompt-completion ----

  private void promptCompletion(JsonParser p) throws IOException, LineError {
    boolean prompt = false;
    boolean completion = false;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken t = p.nextToken();
      if ("prompt".equals(name)) {
        requireText(p, t, "prompt");
        promptChars += textChars;
        tokens += textTokens;
        prompt = true;
      } else if ("completion".equals(name)) {
        requireText(p, t, "completion");
        answerChars += textChars;
        tokens += textTokens;
        completion = true;
      } else {
        p.skipChildren();
      }
    }
    if (!prompt) {
      throw new LineError("prompt", "required field is missing");
    }
    if (!completion) {
      throw new LineError("completion", "required field is missing");
    }
  }

  // ---- messages ----

  private void messages(JsonParser p) throws IOException, LineError {
    boolean seen = false;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken t = p.nextToken();
      if ("messages".equals(name)) {
        messageList(p, t);
        seen = true;
      } else {
        p.skipChildren();
      }
    }
    if (!seen) {
      throw new LineError("messages", "required field is missing");
    }
  }

  private void messageList(JsonParser p, JsonToken t) throws IOException, LineError {
    if (t != JsonToken.START_ARRAY) {
      throw new LineError("messages", expected("an array", t));
    }
    int i = 0;
    String prev = null; // last user/assistant role
    while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
      if (t != JsonToken.START_OBJECT) {
        throw new LineError(msgPath(i), expected("an object", t));
      }
      String role = null;
      boolean content = false;
      long chars = 0;
      long toks = 0;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        t = p.nextToken();
        if ("role".equals(name)) {
          if (t != JsonToken.VALUE_STRING) {
            throw new LineError(msgPath(i) + ".role", expected("a string", t));
          }
          role = p.getText();
        } else if ("content".equals(name)) {
          requireText(p, t, msgPath(i) + ".content");
          chars = textChars;
          toks = textTokens;
          content = true;
        } else {
          p.skipChildren();
        }
      }
      if (role == null) {
        throw new LineError(
            msgPath(i) + ".role",
            "required field is missing; expected \"system\", \"user\" or \"assistant\"");
      }
      boolean system = "system".equals(role);
      boolean user = "user".equals(role);
      boolean assistant = "assistant".equals(role);
      if (!system && !user && !assistant) {
        throw new LineError(
            msgPath(i) + ".role", "unknown role; expected \"system\", \"user\" or \"assistant\"");
      }
      if (system) {
        if (i != 0) {
          throw new LineError(
              msgPath(i) + ".role", "a \"system\" message is only allowed as the first message");
        }
      } else if (prev == null) {
        if (!user) {
          throw new LineError(
              msgPath(i) + ".role",
              "expected \"user\" as the first message"
                  + (i > 0 ? " after the \"system\" message" : "")
                  + ", found \""
                  + role
                  + "\"");
        }
      } else if (role.equals(prev)) {
        throw alternation(msgPath(i), user ? "assistant" : "user", prev, role);
      }
      if (!content) {
        throw new LineError(msgPath(i) + ".content", "required field is missing");
      }
      if (assistant) {
        answerChars += chars;
      } else {
        promptChars += chars;
      }
      tokens += toks;
      if (!system) {
        prev = role;
      }
      i++;
    }
    if (i == 0) {
      throw new LineError("messages", "must contain at least one message");
    }
    if (prev == null) {
      throw new LineError(
          "messages", "has only a \"system\" message; needs \"user\" and \"assistant\" messages");
    }
    if (!"assistant".equals(prev)) {
      throw new LineError(
          msgPath(i - 1) + ".role",
          "the last message must have role \"assistant\" (the response to learn), found \""
              + prev
              + "\"");
    }
  }

  private static String msgPath(int i) {
    return "messages[" + i + "]";
  }

  // ---- gemini ----

  private void gemini(JsonParser p) throws IOException, LineError {
    boolean contents = false;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken t = p.nextToken();
      if ("contents".equals(name)) {
        geminiContents(p, t);
        contents = true;
      } else if ("systemInstruction".equals(name)) {
        geminiSystemInstruction(p, t);
      } else {
        p.skipChildren();
      }
    }
    if (!contents) {
      throw new LineError("contents", "required field is missing");
    }
  }

  private void geminiSystemInstruction(JsonParser p, JsonToken t) throws IOException, LineError {
    if (t != JsonToken.START_OBJECT) {
      throw new LineError("systemInstruction", expected("an object", t));
    }
    boolean parts = false;
    turnChars = 0;
    turnTokens = 0;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      t = p.nextToken();
      if ("parts".equals(name)) {
        geminiParts(p, t, -1);
        parts = true;
      } else if ("role".equals(name)) {
        if (t != JsonToken.VALUE_STRING) {
          throw new LineError("systemInstruction.role", expected("a string", t));
        }
      } else {
        p.skipChildren();
      }
    }
    if (!parts) {
      throw new LineError("systemInstruction.parts", "required field is missing");
    }
    promptChars += turnChars;
    tokens += turnTokens;
  }

  private void geminiContents(JsonParser p, JsonToken t) throws IOException, LineError {
    if (t != JsonToken.START_ARRAY) {
      throw new LineError("contents", expected("an array", t));
    }
    int i = 0;
    String prev = null;
    while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
      if (t != JsonToken.START_OBJECT) {
        throw new LineError(turnPath(i), expected("an object", t));
      }
      String role = null;
      boolean parts = false;
      turnChars = 0;
      turnTokens = 0;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        t = p.nextToken();
        if ("role".equals(name)) {
          if (t != JsonToken.VALUE_STRING) {
            throw new LineError(turnPath(i) + ".role", expected("a string", t));
          }
          role = p.getText();
        } else if ("parts".equals(name)) {
          geminiParts(p, t, i);
          parts = true;
        } else {
          p.skipChildren();
        }
      }
      if (role == null) {
        throw new LineError(
            turnPath(i) + ".role", "required field is missing; expected \"user\" or \"model\"");
      }
      boolean user = "user".equals(role);
      if (!user && !"model".equals(role)) {
        throw new LineError(turnPath(i) + ".role", "unknown role; expected \"user\" or \"model\"");
      }
      if (i == 0 && !user) {
        throw new LineError(
            turnPath(i) + ".role", "expected \"user\" as the first turn, found \"" + role + "\"");
      }
      if (role.equals(prev)) {
        throw alternation(turnPath(i), user ? "model" : "user", prev, role);
      }
      if (!parts) {
        throw new LineError(turnPath(i) + ".parts", "required field is missing");
      }
      if (user) {
        promptChars += turnChars;
      } else {
        answerChars += turnChars;
      }
      tokens += turnTokens;
      prev = role;
      i++;
    }
    if (i == 0) {
      throw new LineError("contents", "must contain at least one turn");
    }
    if (!"model".equals(prev)) {
      throw new LineError(
          turnPath(i - 1) + ".role",
          "the last turn must have role \"model\" (the response to learn), found \"" + prev + "\"");
    }
  }

  /** Parts of turn {@code i}, or of the system instruction when {@code i < 0}. */
  private void geminiParts(JsonParser p, JsonToken t, int i) throws IOException, LineError {
    if (t != JsonToken.START_ARRAY) {
      throw new LineError(partsPath(i), expected("an array", t));
    }
    int j = 0;
    while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
      if (t != JsonToken.START_OBJECT) {
        throw new LineError(partsPath(i) + "[" + j + "]", expected("an object", t));
      }
      boolean text = false;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        t = p.nextToken();
        if ("text".equals(name)) {
          requireText(p, t, partsPath(i) + "[" + j + "].text");
          turnChars += textChars;
          turnTokens += textTokens;
          text = true;
        } else {
          p.skipChildren();
        }
      }
      if (!text) {
        throw new LineError(
            partsPath(i) + "[" + j + "].text",
            "required field is missing (only text parts are supported)");
      }
      j++;
    }
    if (j == 0) {
      throw new LineError(partsPath(i), "must contain at least one part");
    }
  }

  private static String turnPath(int i) {
    return "contents[" + i + "]";
  }

  private static String partsPath(int i) {
    return i < 0 ? "systemInstruction.parts" : "contents[" + i + "].parts";
  }

  // ---- shared ----

  /**
   * Requires a string that is not empty or whitespace only, and measures it: characters are Unicode
   * code points; the token estimate is ceil(UTF-8 bytes / 4).
   */
  private void requireText(JsonParser p, JsonToken t, String path) throws IOException, LineError {
    if (t != JsonToken.VALUE_STRING) {
      throw new LineError(path, expected("a string", t));
    }
    if (!measureRaw(p)) {
      measureDecoded(p);
    }
    if (textBlank) {
      throw new LineError(
          path, textChars == 0 ? "text is empty" : "text is blank (only whitespace characters)");
    }
  }

  /** Measures the current string from the parser's decoded characters. */
  private void measureDecoded(JsonParser p) throws IOException {
    char[] c = p.getTextCharacters();
    int off = p.getTextOffset();
    int end = off + p.getTextLength();
    long chars = 0;
    long bytes = 0;
    boolean blank = true;
    for (int k = off; k < end; k++) {
      char ch = c[k];
      if (ch < 0x80) {
        bytes++;
        chars++;
        if (blank && ch != ' ' && ch != '\n' && ch != '\t' && ch != '\r') {
          blank = false;
        }
      } else {
        if (ch < 0x800) {
          bytes += 2;
          chars++;
        } else if (Character.isSurrogate(ch)) {
          bytes += 2; // a pair encodes as 4 bytes
          if (Character.isHighSurrogate(ch)) {
            chars++;
          }
        } else {
          bytes += 3;
          chars++;
        }
        if (blank && !isUnicodeSpace(ch)) {
          blank = false;
        }
      }
    }
    textChars = chars;
    textTokens = (bytes + 3) / 4;
    textBlank = blank;
  }

  /**
   * Measures the current string straight from the (already UTF-8 validated) line bytes, with the
   * same results as {@link #measureDecoded}, leaving the parser to skip the string without decoding
   * it. Returns false, measuring nothing, for anything unusual (bad escape, control character, no
   * closing quote): the decoding path then measures it or reports the error.
   */
  private boolean measureRaw(JsonParser p) {
    long offset = p.currentTokenLocation().getByteOffset();
    if (line == null || offset < 0) {
      return false;
    }
    byte[] a = line;
    int end = lineEnd;
    int i = lineStart + (int) offset;
    if (i >= end || a[i] != '"') {
      return false;
    }
    i++;
    int begin = i;
    long continuation = 0; // UTF-8 continuation bytes: part of a character, not characters
    long escapeChars = 0; // escape-sequence bytes beyond the characters they stand for
    long escapeBytes = 0; // escape-sequence bytes beyond the UTF-8 size of what they stand for
    boolean blank = true;
    while (true) {
      // Skip plain ASCII (not a quote, backslash or control character), eight bytes at a time.
      int run = i;
      while (i + 8 <= end) {
        long v = (long) LONGS.get(a, i);
        long q = v ^ QUOTES;
        long bs = v ^ BACKSLASHES;
        long special = (((q - ONES) & ~q) | ((bs - ONES) & ~bs) | ((v - SPACES) & ~v) | v);
        special &= HIGH_BITS;
        if (special != 0) {
          i += Long.numberOfTrailingZeros(special) >>> 3;
          break;
        }
        i += 8;
      }
      int b = 0;
      while (i < end && (b = a[i]) > 0x1F && b != '"' && b != '\\') {
        i++;
      }
      if (blank) {
        for (int k = run; k < i; k++) {
          if (a[k] != ' ') {
            blank = false;
            break;
          }
        }
      }
      if (i >= end) {
        return false;
      }
      if (b == '"') {
        break;
      }
      if (b < 0) { // non-ASCII; the line is valid UTF-8
        if ((b & 0xC0) == 0x80) {
          continuation++;
        } else if (blank && !isUnicodeSpace(codePointAt(a, i))) {
          blank = false;
        }
        i++;
        continue;
      }
      if (b != '\\' || i + 1 >= end) {
        return false; // unescaped control character: let the parser report it
      }
      int e = a[i + 1];
      if (e == 'u') {
        int cu = hex4(a, i + 2, end);
        if (cu < 0) {
          return false;
        }
        char ch = (char) cu;
        int decodedBytes = cu < 0x80 ? 1 : cu < 0x800 ? 2 : Character.isSurrogate(ch) ? 2 : 3;
        escapeBytes += 6 - decodedBytes;
        escapeChars += Character.isLowSurrogate(ch) ? 6 : 5;
        if (blank
            && (cu < 0x80
                ? cu != ' ' && cu != '\n' && cu != '\t' && cu != '\r'
                : Character.isSurrogate(ch) || !isUnicodeSpace(cu))) {
          blank = false;
        }
        i += 6;
        continue;
      }
      switch (e) {
        case '"', '\\', '/', 'b', 'f' -> blank = false;
        case 'n', 'r', 't' -> {}
        default -> {
          return false;
        }
      }
      escapeBytes++;
      escapeChars++;
      i += 2;
    }
    long raw = i - begin;
    textChars = raw - continuation - escapeChars;
    textTokens = (raw - escapeBytes + 3) / 4;
    textBlank = blank;
    return true;
  }

  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long ONES = 0x0101010101010101L;
  private static final long SPACES = 0x2020202020202020L;
  private static final long QUOTES = 0x2222222222222222L;
  private static final long BACKSLASHES = 0x5C5C5C5C5C5C5C5CL;
  private static final long HIGH_BITS = 0x8080808080808080L;

  private static boolean isUnicodeSpace(int cp) {
    return Character.isWhitespace(cp) || Character.isSpaceChar(cp);
  }

  /** Decodes the code point of the valid UTF-8 sequence starting at {@code i}. */
  private static int codePointAt(byte[] a, int i) {
    int b = a[i] & 0xff;
    if (b < 0xE0) {
      return ((b & 0x1F) << 6) | (a[i + 1] & 0x3F);
    }
    if (b < 0xF0) {
      return ((b & 0x0F) << 12) | ((a[i + 1] & 0x3F) << 6) | (a[i + 2] & 0x3F);
    }
    return ((b & 0x07) << 18)
        | ((a[i + 1] & 0x3F) << 12)
        | ((a[i + 2] & 0x3F) << 6)
        | (a[i + 3] & 0x3F);
  }

  private static int hex4(byte[] a, int i, int end) {
    if (i + 4 > end) {
      return -1;
    }
    int v = 0;
    for (int k = i; k < i + 4; k++) {
      int d = Character.digit(a[k], 16);
      if (d < 0) {
        return -1;
      }
      v = (v << 4) | d;
    }
    return v;
  }

  static String expected(String what, JsonToken t) {
    return "expected " + what + ", found " + describe(t);
  }

  static String describe(JsonToken t) {
    if (t == null) {
      return "nothing";
    }
    return switch (t) {
      case START_OBJECT -> "an object";
      case START_ARRAY -> "an array";
      case VALUE_STRING -> "a string";
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
      case VALUE_TRUE, VALUE_FALSE -> "a boolean";
      case VALUE_NULL -> "null";
      default -> t.asString() == null ? t.name() : "\"" + t.asString() + "\"";
    };
  }

  /** Turns a Jackson exception into a message without parser internals. */
  static LineError parseError(JsonProcessingException e) {
    String path = "";
    if (e instanceof StreamReadException sre && sre.getProcessor() != null) {
      path = pathOf(sre.getProcessor().getParsingContext());
    }
    if (e instanceof JsonEOFException) {
      return new LineError(path, "truncated JSON: the line ends before the JSON value is complete");
    }
    String m = e.getOriginalMessage();
    if (m != null && m.startsWith("Duplicate field '")) {
      int q = m.indexOf('\'', 17);
      String name = JsonErrors.field(q > 17 ? m.substring(17, q) : null);
      return new LineError(
          path, "duplicate key \"" + name + "\"; each key may appear only once per object");
    }
    return new LineError(path, "invalid JSON: " + JsonErrors.describe(e));
  }

  /** {@code contents[2].parts[0].text} for the parser's current position. */
  static String pathOf(JsonStreamContext ctx) {
    List<String> segs = new ArrayList<>();
    for (JsonStreamContext c = ctx; c != null && !c.inRoot(); c = c.getParent()) {
      if (c.inArray()) {
        segs.add("[" + Math.max(0, c.getCurrentIndex()) + "]");
      } else if (c.inObject() && c.getCurrentName() != null) {
        segs.add("." + JsonErrors.field(c.getCurrentName()));
      }
    }
    StringBuilder sb = new StringBuilder();
    for (int k = segs.size() - 1; k >= 0; k--) {
      sb.append(segs.get(k));
    }
    return sb.length() > 0 && sb.charAt(0) == '.' ? sb.substring(1) : sb.toString();
  }

  /** Two turns of the same role in a row. */
  private static LineError alternation(String turnPath, String expected, String prev, String role) {
    return new LineError(
        turnPath + ".role",
        "expected role \"" + expected + "\" after \"" + prev + "\", found \"" + role + "\"");
  }
}
