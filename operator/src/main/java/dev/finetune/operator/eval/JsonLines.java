package dev.finetune.operator.eval;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses one JSONL line into the string fields a caller needs, with Jackson's streaming parser.
 * Unknown fields are ignored. A field listed as an id may also be an integer number.
 */
public final class JsonLines {

  private static final JsonFactory FACTORY = JsonFactory.builder().build();

  private JsonLines() {}

  /** A line that is not a JSON object with the required fields; the message names the problem. */
  public static final class MalformedLineException extends Exception {
    private static final long serialVersionUID = 1L;

    public MalformedLineException(String message) {
      super(message);
    }
  }

  /**
   * Returns the values of {@code required} (and of {@code id} when non-null) from the JSON object
   * on {@code line}.
   *
   * @param line one line of JSONL
   * @param id name of an identifier field (string or integer), or {@code null}
   * @param required names of required string fields
   */
  public static Map<String, String> parse(String line, String id, List<String> required)
      throws MalformedLineException {
    return parse(line, id, required, List.of());
  }

  /**
   * As {@link #parse(String, String, List)}, also returning {@code optional} string fields when
   * they are present (a present optional field that is not a string is malformed).
   */
  public static Map<String, String> parse(
      String line, String id, List<String> required, List<String> optional)
      throws MalformedLineException {
    Map<String, String> out = new HashMap<>();
    try (JsonParser p = FACTORY.createParser(line)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new MalformedLineException("expected a JSON object");
      }
      JsonToken t;
      while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        boolean isId = name.equals(id);
        if (isId || required.contains(name) || optional.contains(name)) {
          if (out.containsKey(name)) {
            throw new MalformedLineException("duplicate field \"" + name + "\"");
          }
          if (value == JsonToken.VALUE_STRING) {
            out.put(name, p.getText());
          } else if (isId && value == JsonToken.VALUE_NUMBER_INT) {
            out.put(name, p.getText());
          } else {
            throw new MalformedLineException(
                "field \""
                    + name
                    + "\" must be a "
                    + (isId ? "string or integer" : "string")
                    + ", got "
                    + describe(value));
          }
        } else {
          p.skipChildren();
        }
      }
      if (t != JsonToken.END_OBJECT) {
        throw new MalformedLineException("unterminated JSON object");
      }
      if (!atEnd(p)) {
        throw new MalformedLineException("unexpected content after the JSON object");
      }
    } catch (JsonProcessingException e) {
      throw new MalformedLineException(
          "invalid JSON: " + dev.finetune.operator.dataset.JsonErrors.describe(e));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (id != null && !out.containsKey(id)) {
      throw new MalformedLineException("missing field \"" + id + "\"");
    }
    for (String name : required) {
      if (!out.containsKey(name)) {
        throw new MalformedLineException("missing string field \"" + name + "\"");
      }
    }
    return out;
  }

  private static boolean atEnd(JsonParser p) throws IOException {
    try {
      return p.nextToken() == null;
    } catch (JsonProcessingException e) {
      return false;
    }
  }

  private static String describe(JsonToken t) {
    return switch (t) {
      case VALUE_NULL -> "null";
      case VALUE_TRUE, VALUE_FALSE -> "a boolean";
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
      case START_OBJECT -> "an object";
      case START_ARRAY -> "an array";
      default -> String.valueOf(t);
    };
  }
}
