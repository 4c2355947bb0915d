package dev.finetune.operator.eval;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The ROUGE variants supported by {@link RougeScorer}, named as in {@code rouge-score}. */
public enum RougeType {
  ROUGE1("rouge1", 1),
  ROUGE2("rouge2", 2),
  ROUGE3("rouge3", 3),
  ROUGE4("rouge4", 4),
  ROUGE5("rouge5", 5),
  ROUGE6("rouge6", 6),
  ROUGE7("rouge7", 7),
  ROUGE8("rouge8", 8),
  ROUGE9("rouge9", 9),
  /** Sentence-agnostic longest common subsequence over the whole text. */
  ROUGE_L("rougeL", 0),
  /** Summary-level LCS: texts are split into sentences on {@code "\n"}. */
  ROUGE_LSUM("rougeLsum", 0);

  private final String id;
  private final int n;

  RougeType(String id, int n) {
    this.id = id;
    this.n = n;
  }

  /** The name used by {@code rouge-score}, e.g. {@code rougeL}. */
  public String id() {
    return id;
  }

  /** The n-gram order for {@code rougeN} types, 0 for the LCS-based types. */
  public int ngramOrder() {
    return n;
  }

  public boolean isNgram() {
    return n > 0;
  }

  /**
   * Parses a {@code rouge-score} type name ({@code rouge1}..{@code rouge9}, {@code rougeL}, {@code
   * rougeLsum}); the enum constant name (e.g. {@code ROUGE_L}) is accepted too.
   *
   * @throws IllegalArgumentException for unknown names
   */
  public static RougeType fromId(String name) {
    for (RougeType t : values()) {
      if (t.id.equals(name) || t.name().equals(name)) {
        return t;
      }
    }
    throw new IllegalArgumentException(
        "Invalid rouge type: "
            + name
            + " (expected one of "
            + Arrays.stream(values()).map(RougeType::id).collect(Collectors.joining(", "))
            + ")");
  }

  @Override
  public String toString() {
    return id;
  }
}
