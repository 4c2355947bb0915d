package dev.finetune.operator.gcp.nodepool;

import java.time.Duration;

/** Exponential backoff from an attempt count that the caller keeps (e.g. in the job status). */
public final class Backoff {
  private Backoff() {}

  /**
   * {@code base * 2^attempt}, capped.
   *
   * @param attempt 0 for the first retry; negative values are treated as 0
   */
  public static Duration delay(int attempt, Duration base, Duration cap) {
    int n = Math.max(0, Math.min(attempt, 30));
    long millis = base.toMillis();
    for (int i = 0; i < n && millis < cap.toMillis(); i++) {
      millis *= 2;
    }
    return Duration.ofMillis(Math.min(millis, cap.toMillis()));
  }
}
