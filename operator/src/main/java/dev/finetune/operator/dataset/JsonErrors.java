package dev.finetune.operator.dataset;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Parser errors and field names put into words that never carry content of the data: a message from
 * a fixed vocabulary plus the byte position, and only field names of the known formats. Jackson's
 * own messages echo the offending token ("Unrecognized token 'hf_secret'"), so they are never
 * passed on; status, Events and logs carry line numbers, fields and reasons only.
 */
public final class JsonErrors {
  /** Field names of the dataset and prediction formats; any other key is shown as {@value #KEY}. */
  static final Set<String> KNOWN_FIELDS =
      Set.of(
          "contents",
          "role",
          "parts",
          "text",
          "systemInstruction",
          "messages",
          "content",
          "prompt",
          "completion",
          "id",
          "reference",
          "prediction",
          "target");

  public static final String KEY = "<field>";
  private static final Pattern INDEX = Pattern.compile("\\[\\d+]");

  private JsonErrors() {}

  /** A field name as it may be shown: known names as they are, anything else as {@value #KEY}. */
  public static String field(String name) {
    return name != null && KNOWN_FIELDS.contains(name) ? name : KEY;
  }

  /** What is wrong, from a fixed vocabulary, with the byte position when Jackson knows it. */
  public static String describe(JsonProcessingException e) {
    String m = e.getOriginalMessage() == null ? "" : e.getOriginalMessage();
    String what;
    if (m.startsWith("Unrecognized token")) {
      what = "unrecognized token (not a string, number, object, array, true, false or null)";
    } else if (m.startsWith("Unexpected character")) {
      what = "unexpected character";
    } else if (m.contains("Illegal unquoted character")) {
      what = "unescaped control character in a string (escape it, e.g. \\n)";
    } else if (m.startsWith("Unrecognized character escape")) {
      what = "invalid escape sequence in a string";
    } else if (m.startsWith("Unexpected end-of-input")) {
      what = "truncated JSON: the line ends before the JSON value is complete";
    } else if (m.startsWith("Invalid UTF-8")) {
      what = "invalid UTF-8";
    } else if (m.startsWith("Numeric value") || m.contains("out of range")) {
      what = "number out of range";
    } else if (m.contains("Leading zeroes")) {
      what = "number with leading zeroes";
    } else if (m.startsWith("Unexpected close marker")) {
      what = "unbalanced bracket";
    } else {
      what = "malformed JSON";
    }
    if (e.getLocation() != null && e.getLocation().getColumnNr() > 0) {
      what += " (at byte " + e.getLocation().getColumnNr() + " of the line)";
    }
    return what;
  }

  /** Used by tests: true when {@code path} holds only known field names and indexes. */
  static boolean safePath(String path) {
    for (String seg : INDEX.matcher(path).replaceAll("").split("\\.")) {
      if (!seg.isEmpty() && !seg.equals(KEY) && !KNOWN_FIELDS.contains(seg)) {
        return false;
      }
    }
    return true;
  }
}
