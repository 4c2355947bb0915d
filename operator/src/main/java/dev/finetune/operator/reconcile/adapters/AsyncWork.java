package dev.finetune.operator.reconcile.adapters;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * Long reads (a dataset of gigabytes, thousands of predictions) and calls to Google APIs run here,
 * never on a reconcile thread. A step polls: the first call starts the work, a later call returns
 * its result once done. Keys carry the job's uid and generation, so a new object never sees an old
 * result. After an operator restart the work simply starts again: it only reads.
 *
 * <p>Work whose result stands for its key (a dataset validated for one generation) is made with
 * {@link #keeping}: a result handed out stays for later polls of the key for a while, because the
 * reconcile that got it may fail before its status write (a 403 creating the trainer Job), and the
 * retry must not read gigabytes again, nor show "reading ..." once more. Work that is polled for a
 * fresh answer each time (the state of a node pool) keeps nothing.
 */
public final class AsyncWork<T> implements AutoCloseable {
  private final ExecutorService pool;
  private final Map<String, Entry<T>> work = new ConcurrentHashMap<>();
  private final long keepNanos;
  private final LongSupplier nanoTime;
  private final AtomicLong nextSweep = new AtomicLong();
  private static final long NOT_HANDED_OUT = Long.MIN_VALUE;

  public AsyncWork(String name, int threads) {
    this(name, threads, Duration.ZERO, System::nanoTime);
  }

  /**
   * Work whose successful results stay for {@code keep} after they are first handed out (errors are
   * never kept: the next poll tries again).
   */
  public static <T> AsyncWork<T> keeping(String name, int threads, Duration keep) {
    return new AsyncWork<>(name, threads, keep, System::nanoTime);
  }

  AsyncWork(String name, int threads, Duration keep, LongSupplier nanoTime) {
    this.keepNanos = keep.toNanos();
    this.nanoTime = nanoTime;
    this.nextSweep.set(nanoTime.getAsLong());
    AtomicInteger n = new AtomicInteger();
    this.pool =
        Executors.newFixedThreadPool(
            threads,
            r -> {
              Thread t = new Thread(r, name + "-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
  }

  /** The outcome of a piece of work, or of its failure. */
  public sealed interface Result<T> {}

  public record Done<T>(T value) implements Result<T> {}

  public record Error<T>(Exception error) implements Result<T> {}

  private record Entry<T>(
      CompletableFuture<Result<T>> future, AtomicBoolean cancelled, AtomicLong handedOut) {}

  /**
   * Starts the work for key if it is not running, and returns its result once it is done. Without
   * {@link #keeping} a result is handed out once: the caller records it (in status), and a later
   * call for the key starts the work again. A kept result is handed out again until its time is up;
   * either way nothing stays for jobs that have moved on.
   *
   * @param task gets a cancellation flag it should check now and then
   */
  public Optional<Result<T>> poll(String key, Function<AtomicBoolean, T> task) {
    sweep();
    Entry<T> e = start(key, task);
    if (!e.future().isDone()) {
      return Optional.empty();
    }
    Result<T> result = e.future().join();
    if (keepNanos <= 0 || result instanceof Error<T>) {
      work.remove(key, e);
    } else {
      e.handedOut().compareAndSet(NOT_HANDED_OUT, nanoTime.getAsLong());
    }
    return Optional.of(result);
  }

  /** Drops kept results whose time is up; runs at most once per tenth of the keeping time. */
  private void sweep() {
    if (keepNanos <= 0) {
      return;
    }
    long now = nanoTime.getAsLong();
    long next = nextSweep.get();
    if (now - next < 0 || !nextSweep.compareAndSet(next, now + keepNanos / 10)) {
      return;
    }
    work.entrySet()
        .removeIf(
            en -> {
              long at = en.getValue().handedOut().get();
              return at != NOT_HANDED_OUT && now - at >= keepNanos;
            });
  }

  /** How many pieces of work (running, or done and kept) are held; for tests and metrics. */
  public int size() {
    return work.size();
  }

  /** Starts the work for key if it is not running; its result waits for {@link #poll}. */
  public void begin(String key, Function<AtomicBoolean, T> task) {
    start(key, task);
  }

  private Entry<T> start(String key, Function<AtomicBoolean, T> task) {
    return work.computeIfAbsent(
        key,
        k -> {
          AtomicBoolean cancelled = new AtomicBoolean();
          CompletableFuture<Result<T>> f =
              CompletableFuture.supplyAsync(
                  () -> {
                    try {
                      return new Done<>(task.apply(cancelled));
                    } catch (RuntimeException ex) {
                      return new Error<>(ex);
                    }
                  },
                  pool);
          return new Entry<>(f, cancelled, new AtomicLong(NOT_HANDED_OUT));
        });
  }

  /** Drops (and cancels) all work whose key starts with prefix. */
  public void forget(String prefix) {
    work.entrySet()
        .removeIf(
            en -> {
              if (en.getKey().startsWith(prefix)) {
                en.getValue().cancelled().set(true);
                return true;
              }
              return false;
            });
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
