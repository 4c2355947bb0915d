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
 * opaque before KEP-5504): it is one this operator read or wrote before its last write of that
 * object, or, where the API server's versions are comparable integers (etcd's are, and Kubernetes
 * 1.35 guarantees it), a smaller one: the version JOSDK's finalizer write started from, which this
 * operator never saw, is older too. A version newer than the last write here (someone else's write,
 * a deletion) wins.
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
    int order = compare(rv, e.newest().getMetadata().getResourceVersion());
    boolean older = order == NOT_COMPARABLE ? rv != null && e.older().contains(rv) : order < 0;
    if (older) {
      staleReadsAvoided.incrementAndGet();
      return e.newest();
    }
    if (order == 0
        || (order == NOT_COMPARABLE
            && rv != null
            && rv.equals(e.newest().getMetadata().getResourceVersion()))) {
      // The version written here. It may come from JOSDK's cache of the write rather than from the
      // watch, and an older watch event still on its way evicts that: the entry stays (until it
      // times out) to catch the older version then.
      return given;
    }
    // Someone else wrote a newer one: from now on the cache is right.
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

  static final int NOT_COMPARABLE = Integer.MIN_VALUE;

  /**
   * Compares two resourceVersions of one resource as KEP-5504 (stable in Kubernetes 1.35) defines
   * them: positive decimal integers without leading zeros, the longer one the newer. A version that
   * is not of that form (an API server of another kind) compares as {@link #NOT_COMPARABLE}, and
   * only the versions remembered here tell older from newer.
   */
  static int compare(String a, String b) {
    if (!wellFormed(a) || !wellFormed(b)) {
      return NOT_COMPARABLE;
    }
    if (a.length() != b.length()) {
      return a.length() < b.length() ? -1 : 1;
    }
    return Integer.signum(a.compareTo(b));
  }

  private static boolean wellFormed(String rv) {
    if (rv == null || rv.isEmpty() || rv.charAt(0) == '0') {
      return false;
    }
    for (int i = 0; i < rv.length(); i++) {
      char c = rv.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
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
