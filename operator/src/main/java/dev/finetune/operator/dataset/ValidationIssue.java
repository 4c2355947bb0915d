package dev.finetune.operator.dataset;

import java.util.Objects;

/**
 * One problem in a dataset file.
 *
 * @param file the file name as shown to people ({@code train.jsonl} or a {@code gs://} URI)
 * @param line 1-based physical line number, or 0 for a problem with the file as a whole
 * @param path JSON field path within the line ({@code contents[2].role}), or empty
 * @param message what is wrong and, where it helps, what was expected
 */
public record ValidationIssue(String file, long line, String path, String message) {
  public ValidationIssue {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(message, "message");
  }

  /** {@code train.jsonl:17: contents[1].role: expected "model" after "user", found "user"}. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(file);
    if (line > 0) {
      sb.append(':').append(line);
    }
    sb.append(": ");
    if (!path.isEmpty()) {
      sb.append(path).append(": ");
    }
    return sb.append(message).toString();
  }
}
