package dev.finetune.operator.gcp.nodepool;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Creates and removes the GPU node pools jobs run on. Every method makes at most a few quick RPCs
 * and returns; long-running GKE operations are never waited for. The caller reschedules its
 * reconcile (using {@link PoolStatus.WaitingForCapacity#retryAfter()} or its own poll interval for
 * {@link PoolStatus.Creating}) and calls again. State is read from GKE on every call, so a
 * restarted operator picks up an in-flight operation instead of starting another one.
 */
public interface NodePoolManager {

  /** Poll interval suggested for {@link PoolStatus.Creating}. */
  Duration CREATING_POLL = Duration.ofSeconds(15);

  /**
   * Makes sure the pool for {@code shape} exists, creating it if needed.
   *
   * @param attempt how many consecutive times the caller has seen a non-ready result for this pool
   *     (0 the first time); only used to compute the backoff
   */
  PoolStatus ensure(PoolShape shape, int attempt);

  default PoolStatus ensure(PoolShape shape) {
    return ensure(shape, 0);
  }

  /**
   * Deletes the pool for {@code shape} once no job has used it for {@code ttl}. Only pools carrying
   * the operator's managed-by label are ever deleted.
   *
   * @param inUse whether any FineTuneJob currently needs the pool
   * @param idleSince when the last job using the pool finished (null: unknown, treated as now)
   */
  DeleteResult deleteIfIdle(
      PoolShape shape, boolean inUse, Instant idleSince, Duration ttl, Instant now);

  /** The pools in the cluster carrying the operator's managed-by label. */
  List<ManagedPool> listManagedPools();
}
