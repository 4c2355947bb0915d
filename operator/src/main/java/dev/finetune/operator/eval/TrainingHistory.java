package dev.finetune.operator.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The trainer's progress history ({@code metrics.jsonl}: one JSON object per optimizer step with
 * {@code step}, {@code loss}, {@code learningRate}, {@code tokensPerSecond}). When a preempted run
 * repeats steps after resuming from a checkpoint, the last line written for a step wins. Lines that
 * are not such objects are skipped: the history is for people to look at, not a contract to fail
 * on.
 */
public final class TrainingHistory {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** One step; {@code NaN} where the trainer did not record a value. */
  public record Point(long step, double loss, double learningRate, double tokensPerSecond) {}

  private final List<Point> points;

  private TrainingHistory(List<Point> points) {
    this.points = List.copyOf(points);
  }

  public static TrainingHistory empty() {
    return new TrainingHistory(List.of());
  }

  /** In step order. */
  public List<Point> points() {
    return points;
  }

  public static TrainingHistory read(Reader in) throws IOException {
    BufferedReader reader = in instanceof BufferedReader b ? b : new BufferedReader(in);
    Map<Long, Point> byStep = new TreeMap<>();
    String line;
    while ((line = reader.readLine()) != null) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode n;
      try {
        n = MAPPER.readTree(line);
      } catch (IOException e) {
        continue;
      }
      if (n == null || !n.isObject() || !n.path("step").canConvertToLong()) {
        continue;
      }
      long step = n.path("step").asLong();
      byStep.put(
          step,
          new Point(
              step, number(n, "loss"), number(n, "learningRate"), number(n, "tokensPerSecond")));
    }
    return new TrainingHistory(new ArrayList<>(byStep.values()));
  }

  private static double number(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v != null && v.isNumber() ? v.asDouble() : Double.NaN;
  }
}
