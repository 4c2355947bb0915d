package dev.finetune.operator.reconcile.adapters;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Long reads (a dataset of gigabytes, thousands of predictions) and calls to Google APIs run here,
 * never on a reconcile thread. A step polls: the first call starts the work, a later call returns
 * its result once done. Keys carry the job's uid and generation, so a new object never sees an old
 * result. After an operator restart the work simply starts again: it only reads.
 */
public final class AsyncWork<T> implements AutoCloseable {
  private final ExecutorService pool;
  private final Map<String, Entry<T>> work = new ConcurrentHashMap<>();

  public AsyncWork(String name, int threads) {
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

  private record Entry<T>(CompletableFuture<Result<T>> future, AtomicBoolean cancelled) {}

  /**
   * Starts the work for key if it is not running, and returns its result once it is done. A result
   * is handed out once: the caller records it (in status), and a later call for the key starts the
   * work again, so nothing is kept for jobs that have moved on.
   *
   * @param task gets a cancellation flag it should check now and then
   */
  public Optional<Result<T>> poll(String key, Function<AtomicBoolean, T> task) {
    Entry<T> e = start(key, task);
    if (!e.future().isDone()) {
      return Optional.empty();
    }
    work.remove(key, e);
    return Optional.of(e.future().join());
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
          return new Entry<>(f, cancelled);
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
