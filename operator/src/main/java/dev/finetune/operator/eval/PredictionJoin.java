package dev.finetune.operator.eval;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Joins the baseline and tuned predictions of an evaluation set by id.
 *
 * <p>Both inputs are JSONL with one {@code {"id", "reference", "prediction"}} object per line (the
 * id may be a string or an integer; other fields are ignored; blank lines are skipped). The
 * baseline defines the evaluation set: ids absent from the tuned file are {@link Kind#MISSING}, ids
 * only in the tuned file are {@link Kind#EXTRA}. Lines are parsed one at a time with Jackson's
 * streaming parser; only the baseline is held in memory while the tuned file streams past it.
 */
public final class PredictionJoin {

  private PredictionJoin() {}

  /** Which input a problem was found in. */
  public enum Side {
    BASELINE,
    TUNED;

    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  public enum Kind {
    /** Not a JSON object with string {@code reference}/{@code prediction} and an {@code id}. */
    MALFORMED,
    /** The id already appeared earlier in the same file; the first occurrence is used. */
    DUPLICATE_ID,
    /** In the baseline but not in the tuned file. */
    MISSING,
    /** In the tuned file but not in the baseline. */
    EXTRA,
    /** Both files have the id but with different references; the baseline reference is used. */
    REFERENCE_MISMATCH
  }

  /**
   * One problem found while joining.
   *
   * @param line 1-based line number in the file of {@code side}
   * @param id the record id, or {@code null} when the line could not be parsed
   */
  public record Problem(Kind kind, Side side, long line, String id, String message) {
    @Override
    public String toString() {
      return side.label() + " line " + line + ": " + message;
    }
  }

  /**
   * A record present in both files.
   *
   * @param prompt the prompt, when the baseline file records one (optional {@code prompt} field)
   */
  public record Row(
      String id,
      String reference,
      String baselinePrediction,
      String tunedPrediction,
      String prompt) {
    public Row(String id, String reference, String baselinePrediction, String tunedPrediction) {
      this(id, reference, baselinePrediction, tunedPrediction, null);
    }
  }

  /**
   * @param rows joined records, in baseline order
   * @param problems problems in the order found (baseline first, then tuned, then missing ids)
   */
  public record Result(List<Row> rows, List<Problem> problems) {
    public boolean isClean() {
      return problems.isEmpty();
    }
  }

  private record Entry(long line, String reference, String prediction, String prompt) {}

  private static final List<String> FIELDS = List.of("reference", "prediction");
  private static final List<String> OPTIONAL = List.of("prompt");

  public static Result join(Reader baseline, Reader tuned) throws IOException {
    Objects.requireNonNull(baseline, "baseline");
    Objects.requireNonNull(tuned, "tuned");
    List<Problem> problems = new ArrayList<>();
    Map<String, Entry> base = new LinkedHashMap<>();
    read(
        baseline,
        Side.BASELINE,
        problems,
        (id, entry) -> {
          Entry first = base.putIfAbsent(id, entry);
          if (first != null) {
            problems.add(duplicate(Side.BASELINE, entry.line, id, first.line));
          }
        });
    Map<String, Entry> matched = new LinkedHashMap<>();
    read(
        tuned,
        Side.TUNED,
        problems,
        (id, entry) -> {
          Entry first = matched.get(id);
          if (first != null) {
            problems.add(duplicate(Side.TUNED, entry.line, id, first.line));
            return;
          }
          Entry b = base.get(id);
          if (b == null) {
            problems.add(
                new Problem(
                    Kind.EXTRA,
                    Side.TUNED,
                    entry.line,
                    id,
                    "its id is not in the baseline predictions"));
            return;
          }
          matched.put(id, entry);
          if (!b.reference.equals(entry.reference)) {
            problems.add(
                new Problem(
                    Kind.REFERENCE_MISMATCH,
                    Side.TUNED,
                    entry.line,
                    id,
                    "its reference differs from that of the same id on baseline line " + b.line));
          }
        });
    List<Row> rows = new ArrayList<>(matched.size());
    for (Map.Entry<String, Entry> e : base.entrySet()) {
      Entry t = matched.get(e.getKey());
      if (t == null) {
        problems.add(
            new Problem(
                Kind.MISSING,
                Side.BASELINE,
                e.getValue().line,
                e.getKey(),
                "its id has no tuned prediction"));
      } else {
        rows.add(
            new Row(
                e.getKey(),
                e.getValue().reference,
                e.getValue().prediction,
                t.prediction,
                e.getValue().prompt != null ? e.getValue().prompt : t.prompt));
      }
    }
    return new Result(Collections.unmodifiableList(rows), Collections.unmodifiableList(problems));
  }

  private interface EntrySink {
    void accept(String id, Entry entry);
  }

  private static void read(Reader in, Side side, List<Problem> problems, EntrySink sink)
      throws IOException {
    BufferedReader reader = in instanceof BufferedReader br ? br : new BufferedReader(in);
    String line;
    long number = 0;
    while ((line = reader.readLine()) != null) {
      number++;
      if (line.isBlank()) {
        continue;
      }
      Map<String, String> fields;
      try {
        fields = JsonLines.parse(line, "id", FIELDS, OPTIONAL);
      } catch (JsonLines.MalformedLineException e) {
        problems.add(new Problem(Kind.MALFORMED, side, number, null, e.getMessage()));
        continue;
      }
      sink.accept(
          fields.get("id"),
          new Entry(
              number, fields.get("reference"), fields.get("prediction"), fields.get("prompt")));
    }
  }

  private static Problem duplicate(Side side, long line, String id, long firstLine) {
    return new Problem(
        Kind.DUPLICATE_ID, side, line, id, "duplicate id (first seen on line " + firstLine + ")");
  }
}
