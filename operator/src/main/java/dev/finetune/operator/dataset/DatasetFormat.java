package dev.finetune.operator.dataset;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** JSONL training data formats the validator understands. */
public enum DatasetFormat {
  /** Detect from the keys of the first non-blank line; see {@link JsonlValidator}. */
  AUTO("auto"),
  /** {@code {"prompt": "...", "completion": "..."}}. */
  PROMPT_COMPLETION("prompt-completion"),
  /** {@code {"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}}. */
  MESSAGES("messages"),
  /** Vertex AI tuning JSONL: {@code {"systemInstruction"?: {...}, "contents": [...]}}. */
  GEMINI("gemini");

  private final String id;

  DatasetFormat(String id) {
    this.id = id;
  }

  /** The name used in the CLI, the custom resource and {@code status.dataset.format}. */
  public String id() {
    return id;
  }

  /**
   * Parses {@link #id()} (case-insensitive; {@code _} accepted for {@code -}).
   *
   * @throws IllegalArgumentException naming the accepted values
   */
  public static DatasetFormat fromId(String s) {
    if (s != null) {
      String norm = s.trim().toLowerCase(Locale.ROOT).replace('_', '-');
      for (DatasetFormat f : values()) {
        if (f.id.equals(norm)) {
          return f;
        }
      }
    }
    throw new IllegalArgumentException(
        "unknown dataset format \""
            + s
            + "\"; expected one of "
            + Arrays.stream(values()).map(DatasetFormat::id).collect(Collectors.joining(", ")));
  }

  @Override
  public String toString() {
    return id;
  }
}
