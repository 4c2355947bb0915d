package dev.finetune.operator.reconcile.adapters;

import dev.finetune.operator.gcp.nodepool.DeleteResult;
import dev.finetune.operator.gcp.nodepool.ManagedPool;
import dev.finetune.operator.gcp.nodepool.NodePoolManager;
import dev.finetune.operator.gcp.nodepool.PoolShape;
import dev.finetune.operator.gcp.nodepool.PoolStatus;
import dev.finetune.operator.reconcile.ports.Capacity;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * hardware.provisioning: managed. One GKE node pool per shape, shared by the jobs of that shape.
 * Each look is one call of {@link NodePoolManager#ensure}, run aside; the state is read from GKE
 * every time, so a restart in the middle neither loses a pool being created nor makes a second.
 */
public final class GkeCapacity implements Capacity {
  private static final Logger LOG = LoggerFactory.getLogger(GkeCapacity.class);
  private final Supplier<NodePoolManager> pools;
  private final AsyncWork<PoolStatus> work;
  private final Duration idleTtl;
  private final Clock clock;
  private final Map<String, Instant> idleSince = new ConcurrentHashMap<>();
  private volatile Pools lastSeen = new Pools(0, 0, Duration.ZERO);

  public GkeCapacity(
      Supplier<NodePoolManager> pools, AsyncWork<PoolStatus> work, Duration idleTtl, Clock clock) {
    this.pools = pools;
    this.work = work;
    this.idleTtl = idleTtl;
    this.clock = clock;
  }

  @Override
  public Outcome ensure(String accelerator, int gpus, boolean spot, int attempt) {
    PoolShape shape;
    try {
      shape = new PoolShape(accelerator, gpus, spot);
    } catch (IllegalArgumentException e) {
      return new Failed("UnsupportedShape", e.getMessage());
    }
    idleSince.remove(shape.poolName());
    Optional<AsyncWork.Result<PoolStatus>> r =
        work.poll(shape.poolName(), c -> pools.get().ensure(shape, attempt));
    if (r.isEmpty()) {
      return new Creating(shape.poolName(), "asking GKE for node pool " + shape.poolName());
    }
    if (r.get() instanceof AsyncWork.Error<PoolStatus> e) {
      if (e.error() instanceof Lazy.Unavailable u) {
        return new Waiting(
            "GkeUnavailable",
            "no GKE client yet ("
                + u.getMessage()
                + "); give the operator Google credentials (see docs/gcp-permissions.md) or use"
                + " hardware.provisioning existing",
            Duration.ofSeconds(30));
      }
      return new Waiting(
          "Transient", "GKE call failed: " + e.error().getMessage(), Duration.ofSeconds(30));
    }
    PoolStatus s = ((AsyncWork.Done<PoolStatus>) r.get()).value();
    if (s instanceof PoolStatus.Ready ready) {
      return new Ready(ready.poolName(), shape.machineType());
    }
    if (s instanceof PoolStatus.Creating c) {
      return new Creating(
          c.poolName(),
          "GKE is creating node pool " + c.poolName() + " (" + shape.machineType() + ")");
    }
    if (s instanceof PoolStatus.WaitingForCapacity w) {
      return new Waiting(w.reason(), w.message(), w.retryAfter());
    }
    PoolStatus.Failed f = (PoolStatus.Failed) s;
    return new Failed(f.reason(), f.message());
  }

  /**
   * Deletes managed pools that no job needs once they have been idle for the TTL. Called from a
   * timer, never from a reconcile. After a restart the idle clock starts again (a pool is kept a
   * little longer, never deleted early).
   */
  @Override
  public void collectIdle(Set<String> inUse) {
    Instant now = clock.instant();
    NodePoolManager pools = this.pools.get();
    java.util.List<ManagedPool> managed = pools.listManagedPools();
    int idle = 0;
    Duration oldest = Duration.ZERO;
    for (ManagedPool pool : managed) {
      boolean used = inUse.contains(pool.name());
      if (used) {
        idleSince.remove(pool.name());
        continue;
      }
      Instant since = idleSince.computeIfAbsent(pool.name(), k -> now);
      idle++;
      Duration d = Duration.between(since, now);
      oldest = d.compareTo(oldest) > 0 ? d : oldest;
      DeleteResult result = pools.deleteIfIdle(pool.shape(), false, since, idleTtl, now);
      if (result.outcome() == DeleteResult.Outcome.DELETING) {
        LOG.info("deleting idle node pool {}: {}", pool.name(), result.message());
      }
      if (result.outcome() == DeleteResult.Outcome.ABSENT) {
        idleSince.remove(pool.name());
      }
    }
    this.lastSeen = new Pools(managed.size(), idle, oldest);
  }

  @Override
  public Pools pools() {
    return lastSeen;
  }

  @Override
  public void close() {
    work.close();
  }
}
