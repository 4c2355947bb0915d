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
 * Long reads (a dataset of gigabytes, thousands of predictions) run here, never on a reconcile
 * thread. A step polls: the first call starts the work, later calls return its result once done.
 * Keys carry the job's uid and generation, so a new object never sees an old result. After an
 * operator restart the work simply starts again: it only reads.
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
   * Starts the work for key if it is not running, and returns its result when it is done.
   *
   * @param task gets a cancellation flag it should check now and then
   */
  public Optional<Result<T>> poll(String key, Function<AtomicBoolean, T> task) {
    Entry<T> e =
        work.computeIfAbsent(
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
    return e.future().isDone() ? Optional.of(e.future().join()) : Optional.empty();
  }

  /**
   * Like {@link #poll}, but a finished result is handed out once: the next call for the key starts
   * the work again. For calls that must be repeated until they succeed (a GKE or IAM request).
   */
  public Optional<Result<T>> take(String key, Function<AtomicBoolean, T> task) {
    Optional<Result<T>> r = poll(key, task);
    r.ifPresent(x -> work.remove(key));
    return r;
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
