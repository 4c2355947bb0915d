package dev.finetune.operator.reconcile.adapters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class AsyncWorkTest {
  private final AtomicLong now = new AtomicLong(-5_000_000_000L);
  private final AtomicInteger runs = new AtomicInteger();
  private AsyncWork<String> work;

  @AfterEach
  void close() {
    work.close();
  }

  private Optional<AsyncWork.Result<String>> pollUntilDone(String key) {
    return await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                work.poll(
                    key,
                    c -> {
                      runs.incrementAndGet();
                      return "value-" + key;
                    }),
            Optional::isPresent);
  }

  @Test
  void withoutKeepingAResultIsHandedOutOnceAndTheNextPollStartsTheWorkAgain() {
    work = new AsyncWork<>("once", 1, Duration.ZERO, now::get);
    assertThat(pollUntilDone("uid/1")).hasValue(new AsyncWork.Done<>("value-uid/1"));
    assertThat(work.size()).isZero();
    pollUntilDone("uid/1");
    assertThat(runs).hasValue(2);
  }

  @Test
  void aKeptResultIsHandedOutAgainWithoutRunningTheWorkUntilItsTimeIsUp() {
    work = new AsyncWork<>("kept", 1, Duration.ofMinutes(15), now::get);
    assertThat(pollUntilDone("uid/1")).hasValue(new AsyncWork.Done<>("value-uid/1"));
    // The reconcile that got it failed before writing status; its retry minutes later gets the
    // same result at once.
    now.addAndGet(Duration.ofMinutes(5).toNanos());
    assertThat(work.poll("uid/1", c -> "not run")).hasValue(new AsyncWork.Done<>("value-uid/1"));
    assertThat(runs).hasValue(1);

    // Other keys' polls sweep it out once its time (from the first hand-out) is up.
    now.addAndGet(Duration.ofMinutes(11).toNanos());
    pollUntilDone("uid/2");
    assertThat(work.size()).isEqualTo(1);
    pollUntilDone("uid/1");
    assertThat(runs).hasValue(3);
  }

  @Test
  void anErrorIsNeverKeptSoTheNextPollTriesAgain() {
    work = new AsyncWork<>("errors", 1, Duration.ofMinutes(15), now::get);
    Optional<AsyncWork.Result<String>> r =
        await()
            .atMost(Duration.ofSeconds(10))
            .until(
                () ->
                    work.poll(
                        "uid/1",
                        c -> {
                          runs.incrementAndGet();
                          throw new IllegalStateException("read timed out");
                        }),
                Optional::isPresent);
    assertThat(r.orElseThrow()).isInstanceOf(AsyncWork.Error.class);
    assertThat(work.size()).isZero();
    pollUntilDone("uid/1");
    assertThat(runs).hasValue(2);
  }

  @Test
  void forgettingAJobDropsItsKeptResults() {
    work = new AsyncWork<>("forget", 1, Duration.ofMinutes(15), now::get);
    pollUntilDone("uid-a/1");
    pollUntilDone("uid-b/1");
    work.forget("uid-a/");
    assertThat(work.size()).isEqualTo(1);
  }
}
