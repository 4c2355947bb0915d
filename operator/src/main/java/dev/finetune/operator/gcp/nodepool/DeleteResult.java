package dev.finetune.operator.gcp.nodepool;

import java.time.Duration;

/**
 * Outcome of {@link NodePoolManager#deleteIfIdle}.
 *
 * @param outcome what happened
 * @param recheckAfter when the caller should look again (null: no need)
 * @param message human-readable detail
 */
public record DeleteResult(Outcome outcome, Duration recheckAfter, String message) {

  public enum Outcome {
    /** A job uses the pool; nothing done. */
    IN_USE,
    /** Idle, but not yet for the TTL; look again after {@code recheckAfter}. */
    KEPT,
    /** A delete operation was started or is running. */
    DELETING,
    /** There is no such pool. */
    ABSENT,
    /** The pool exists but does not carry the managed-by label; never deleted. */
    NOT_MANAGED,
    /** GKE refused or failed; see message, retry after {@code recheckAfter}. */
    ERROR
  }
}
