package dev.finetune.operator.dataset;

import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * Limits and hooks for a validation run.
 *
 * @param format expected format, or {@link DatasetFormat#AUTO}
 * @param maxErrors how many problems to keep in detail per file (all are counted)
 * @param maxLineBytes longest accepted line in bytes; a longer line is an error, and is skipped
 *     without being buffered, so memory stays bounded by this value
 * @param maxFileBytes largest accepted file in bytes; validation stops with an error beyond it
 * @param cancelled polled between buffer fills (every {@value LineReader#BUFFER_SIZE} bytes); when
 *     it returns true, or the thread is interrupted, validation throws {@link
 *     java.util.concurrent.CancellationException}
 */
public record ValidationOptions(
    DatasetFormat format,
    int maxErrors,
    int maxLineBytes,
    long maxFileBytes,
    BooleanSupplier cancelled) {

  public static final int DEFAULT_MAX_ERRORS = 20;
  public static final int DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

  public ValidationOptions {
    Objects.requireNonNull(format, "format");
    Objects.requireNonNull(cancelled, "cancelled");
    if (maxErrors < 0) {
      throw new IllegalArgumentException("maxErrors must be >= 0, was " + maxErrors);
    }
    if (maxLineBytes < 1 || maxLineBytes > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException("maxLineBytes out of range: " + maxLineBytes);
    }
    if (maxFileBytes < 1) {
      throw new IllegalArgumentException("maxFileBytes must be positive, was " + maxFileBytes);
    }
  }

  /** Auto-detected format, 20 errors in detail, 16 MiB lines, no file size limit. */
  public static ValidationOptions defaults() {
    return new ValidationOptions(
        DatasetFormat.AUTO,
        DEFAULT_MAX_ERRORS,
        DEFAULT_MAX_LINE_BYTES,
        Long.MAX_VALUE,
        () -> false);
  }

  public ValidationOptions withFormat(DatasetFormat f) {
    return new ValidationOptions(f, maxErrors, maxLineBytes, maxFileBytes, cancelled);
  }

  public ValidationOptions withMaxErrors(int n) {
    return new ValidationOptions(format, n, maxLineBytes, maxFileBytes, cancelled);
  }

  public ValidationOptions withMaxLineBytes(int n) {
    return new ValidationOptions(format, maxErrors, n, maxFileBytes, cancelled);
  }

  public ValidationOptions withMaxFileBytes(long n) {
    return new ValidationOptions(format, maxErrors, maxLineBytes, n, cancelled);
  }

  public ValidationOptions withCancellation(BooleanSupplier c) {
    return new ValidationOptions(format, maxErrors, maxLineBytes, maxFileBytes, c);
  }
}
