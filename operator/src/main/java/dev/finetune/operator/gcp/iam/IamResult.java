package dev.finetune.operator.gcp.iam;

import java.time.Duration;

/** Outcome of an IAM change, ready to become a condition on the job. */
public sealed interface IamResult {

  /** The policy now says what was asked. {@code changed} is false when it already did. */
  record Done(boolean changed) implements IamResult {}

  /** Try again later: {@code ConcurrentModification} or {@code Transient}. */
  record Retry(String reason, String message, Duration retryAfter) implements IamResult {}

  /**
   * Retrying will not help: {@code PermissionDenied}, {@code NotFound}, {@code InvalidArgument}.
   */
  record Failed(String reason, String message) implements IamResult {}
}
