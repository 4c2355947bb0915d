package dev.finetune.operator.gcp.nodepool;

import java.time.Duration;

/**
 * Where a managed node pool stands, derived from GKE on every call. Each variant maps to a
 * condition on the job: {@link Ready} lets the job schedule, the others carry a reason and message
 * for the condition and (where retrying helps) when to look again.
 */
public sealed interface PoolStatus {

  /** The pool exists and can schedule pods (nodes come from the autoscaler on demand). */
  record Ready(String poolName) implements PoolStatus {}

  /** A GKE operation creating the pool is in flight; call again later. */
  record Creating(String poolName, String operationId) implements PoolStatus {}

  /**
   * The pool cannot be created or used yet for a reason that may clear on its own or after someone
   * acts (quota increase). Reasons: {@code QuotaExceeded}, {@code Stockout}, {@code Transient},
   * {@code PoolDeleting}.
   */
  record WaitingForCapacity(String reason, String message, Duration retryAfter)
      implements PoolStatus {}

  /** Retrying will not help until configuration or permissions change. */
  record Failed(String reason, String message) implements PoolStatus {}

  static WaitingForCapacity waiting(String reason, String message, Duration retryAfter) {
    return new WaitingForCapacity(reason, message, retryAfter);
  }
}
