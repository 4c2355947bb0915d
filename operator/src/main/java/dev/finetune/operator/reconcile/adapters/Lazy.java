package dev.finetune.operator.reconcile.adapters;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Supplier;

/**
 * A Google client built on first use, not at startup: when credentials or the metadata server are
 * not there yet, the jobs that need the client wait (and say why) instead of failing, and the next
 * use after {@code retryAfter} tries again. Called from background work, never from a reconcile.
 */
public final class Lazy<T> implements Supplier<T> {
  private final Supplier<T> factory;
  private final Duration retryAfter;
  private final Clock clock;
  private T value;
  private RuntimeException lastError;
  private Instant lastTry;

  public Lazy(Supplier<T> factory, Duration retryAfter, Clock clock) {
    this.factory = factory;
    this.retryAfter = retryAfter;
    this.clock = clock;
  }

  public static <T> Lazy<T> of(Supplier<T> factory) {
    return new Lazy<>(factory, Duration.ofSeconds(10), Clock.systemUTC());
  }

  /**
   * The client.
   *
   * @throws Unavailable while it cannot be built
   */
  @Override
  public synchronized T get() {
    if (value != null) {
      return value;
    }
    Instant now = clock.instant();
    if (lastError != null && now.isBefore(lastTry.plus(retryAfter))) {
      throw new Unavailable(lastError);
    }
    lastTry = now;
    try {
      value = factory.get();
      lastError = null;
      return value;
    } catch (RuntimeException e) {
      lastError = e;
      throw new Unavailable(e);
    }
  }

  /** The client could not be built (yet). */
  public static final class Unavailable extends RuntimeException {
    Unavailable(RuntimeException cause) {
      super(
          cause instanceof Unavailable
              ? cause.getMessage()
              : String.valueOf(
                  cause.getCause() != null ? cause.getCause().getMessage() : cause.getMessage()),
          cause);
    }
  }
}
