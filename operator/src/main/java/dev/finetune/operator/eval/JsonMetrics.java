package dev.finetune.operator.eval;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Metrics for structured output, per example. Pure functions; thread-safe.
 *
 * <ul>
 *   <li>{@link #exactMatch}: 1 when prediction and reference are equal after stripping leading and
 *       trailing whitespace.
 *   <li>{@link #parse} / {@code jsonValid}: the whole prediction, stripped, is exactly one JSON
 *       document (RFC 8259): no code fence, no prose before or after, no second value, no comments,
 *       single quotes, NaN or other extensions.
 *   <li>{@link #fieldMatch}: both documents flattened to (path, value) leaves; precision, recall
 *       and F1 of the prediction's leaves against the reference's.
 * </ul>
 *
 * <p>Duplicate object keys: RFC 8259 leaves their meaning open (parsers keep the first, the last,
 * or fail), so a document with a duplicate key is treated as not valid JSON. A caller cannot rely
 * on what such a prediction means.
 */
public final class JsonMetrics {

  private static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .build();

  private JsonMetrics() {}

  /** 1 when {@code prediction} and {@code reference} are equal after stripping whitespace. */
  public static double exactMatch(String prediction, String reference) {
    return prediction.strip().equals(reference.strip()) ? 1.0 : 0.0;
  }

  /**
   * The JSON document that is the whole of {@code text} (stripped), or {@code null} when it is not
   * exactly one valid JSON document.
   */
  public static JsonNode parse(String text) {
    String s = text.strip();
    if (s.isEmpty()) {
      return null;
    }
    try {
      JsonNode node = MAPPER.readTree(s);
      return node == null || node.isMissingNode() ? null : node;
    } catch (JsonProcessingException e) {
      return null;
    }
  }

  /** 1 when the whole prediction is one valid JSON document. */
  public static double jsonValid(String prediction) {
    return parse(prediction) == null ? 0.0 : 1.0;
  }

  /**
   * The leaves of {@code doc}: one string per leaf, path and value, unambiguous. Object keys are
   * joined with {@code .} (a {@code .}, {@code [} or {@code \} inside a key is escaped with {@code
   * \}), array elements are {@code [i]}; scalars and empty objects and arrays are leaves. Numbers
   * are compared by value ({@code 1} equals {@code 1.0} and {@code 1e0}); strings, booleans and
   * null by their JSON value.
   */
  public static List<String> leaves(JsonNode doc) {
    List<String> out = new ArrayList<>();
    flatten(doc, new StringBuilder(), out);
    return out;
  }

  private static void flatten(JsonNode node, StringBuilder path, List<String> out) {
    int len = path.length();
    if (node.isObject() && !node.isEmpty()) {
      for (Map.Entry<String, JsonNode> e : node.properties()) {
        path.append('.');
        escapeKey(e.getKey(), path);
        flatten(e.getValue(), path, out);
        path.setLength(len);
      }
      return;
    }
    if (node.isArray() && !node.isEmpty()) {
      for (int i = 0; i < node.size(); i++) {
        path.append('[').append(i).append(']');
        flatten(node.get(i), path, out);
        path.setLength(len);
      }
      return;
    }
    out.add(path + "=" + value(node));
  }

  private static void escapeKey(String key, StringBuilder path) {
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      if (c == '.' || c == '[' || c == '\\' || c == '=') {
        path.append('\\');
      }
      path.append(c);
    }
  }

  private static String value(JsonNode node) {
    if (node.isNumber()) {
      // By value: 1, 1.0, 1e0 and 10e-1 are the same leaf.
      return "n" + node.decimalValue().stripTrailingZeros().toString();
    }
    if (node.isTextual()) {
      return "s" + node.textValue();
    }
    if (node.isObject()) {
      return "{}";
    }
    if (node.isArray()) {
      return "[]";
    }
    return node.toString(); // true, false, null
  }

  /**
   * Precision, recall and F1 of the prediction's leaves against the reference's.
   *
   * @param referenceLeaves the reference's leaves (see {@link #leaves}), as a set
   * @param prediction the prediction's document, or {@code null} when it is not valid JSON (scores
   *     0)
   */
  public static Score fieldMatch(Set<String> referenceLeaves, JsonNode prediction) {
    if (prediction == null || referenceLeaves.isEmpty()) {
      return Score.ZERO;
    }
    List<String> predicted = leaves(prediction);
    int hits = 0;
    for (String leaf : predicted) {
      if (referenceLeaves.contains(leaf)) {
        hits++;
      }
    }
    // Paths are unique within a document (duplicate keys are not valid), so each leaf matches once.
    return Score.of((double) hits / predicted.size(), (double) hits / referenceLeaves.size());
  }

  /** {@link #fieldMatch} from text; {@code null} when the reference is not JSON (not scored). */
  public static Score fieldMatch(String prediction, String reference) {
    JsonNode ref = parse(reference);
    if (ref == null) {
      return null;
    }
    return fieldMatch(new HashSet<>(leaves(ref)), parse(prediction));
  }
}
