package dev.finetune.operator.reconcile;

import dev.finetune.api.v1alpha1.FineTuneJob;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The newest version of each job this operator wrote, until its watch has caught up.
 *
 * <p>JOSDK caches a written primary only until the next watch event for it, and any event evicts
 * it, even an older one: the event of the write before the last one arrives after the last write,
 * and the reconcile that follows reads the version before the last write (then its status write is
 * refused with 409 and the job is reconciled again from a cache that is still behind). Here a
 * version is known to be older without reading resourceVersions as numbers (Kubernetes keeps them
 * opaque): it is one this operator read or wrote before its last write of that object. A version
 * not seen here (someone else's write, a deletion) is newer, and wins.
 */
final class RecentWrites {
  /** How many older versions are remembered per job; a watch further behind is not expected. */
  static final int HISTORY = 64;

  /**
   * How long a write is remembered when no reconcile comes to find that the watch caught up (a job
   * that is waiting, or done). Forgetting one early is safe: a reconcile from an older version is
   * refused (409) and reads the object back.
   */
  static final long KEEP_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(60);

  private record Entry(FineTuneJob newest, Deque<String> older, long at) {}

  private final Map<String, Entry> entries = new ConcurrentHashMap<>();
  private final AtomicLong staleReadsAvoided = new AtomicLong();
  private final AtomicLong writes = new AtomicLong();
  private final java.util.function.LongSupplier nanos;

  RecentWrites() {
    this(System::nanoTime);
  }

  RecentWrites(java.util.function.LongSupplier nanos) {
    this.nanos = nanos;
  }

  /** The version to reconcile from: the one given, or the newer one written here. */
  FineTuneJob freshest(FineTuneJob given) {
    String key = key(given);
    Entry e = entries.get(key);
    if (e == null) {
      return given;
    }
    String rv = given.getMetadata().getResourceVersion();
    if (rv != null && e.older().contains(rv)) {
      staleReadsAvoided.incrementAndGet();
      return e.newest();
    }
    // The watch has caught up (this is the version written here), or someone else wrote a newer
    // one: from now on the cache is right.
    entries.remove(key, e);
    return given;
  }

  /**
   * Records a write: {@code read} is the version the write was based on, {@code written} what the
   * API server returned (or, after a conflict, the newer version read back).
   */
  void wrote(FineTuneJob read, FineTuneJob written) {
    if (written == null || written.getMetadata() == null) {
      return;
    }
    long now = nanos.getAsLong();
    if (writes.incrementAndGet() % 256 == 0) {
      entries.values().removeIf(e -> now - e.at() > KEEP_NANOS);
    }
    entries.compute(
        key(written),
        (k, prev) -> {
          Deque<String> older = prev == null ? new ArrayDeque<>() : new ArrayDeque<>(prev.older());
          if (prev != null) {
            older.addLast(prev.newest().getMetadata().getResourceVersion());
          }
          String base = read.getMetadata().getResourceVersion();
          if (base != null && !base.equals(written.getMetadata().getResourceVersion())) {
            older.addLast(base);
          }
          older.remove(written.getMetadata().getResourceVersion());
          while (older.size() > HISTORY) {
            older.removeFirst();
          }
          return new Entry(written, older, now);
        });
  }

  /** The job is gone: nothing to remember. */
  void forget(FineTuneJob job) {
    entries.remove(key(job));
  }

  /** Jobs with a write the watch has not delivered yet. */
  int size() {
    return entries.size();
  }

  /** Reconciles that would have started from a version older than one written here. */
  long staleReadsAvoided() {
    return staleReadsAvoided.get();
  }

  private static String key(FineTuneJob job) {
    // The UID too: a job deleted and created again under the same name is another object.
    return job.getMetadata().getNamespace()
        + "/"
        + job.getMetadata().getName()
        + "/"
        + job.getMetadata().getUid();
  }
}
