package dev.finetune.operator.reconcile.adapters;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.operator.gcp.storage.GcsUri;
import dev.finetune.operator.gcp.storage.ObjectNotFoundException;
import dev.finetune.operator.gcp.storage.ObjectStore;
import dev.finetune.operator.reconcile.ports.ProgressSource;
import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads output/progress.json at most once per poll interval per job, in the background; a step gets
 * the newest value read so far and never waits for Cloud Storage.
 */
public final class StorageProgressSource implements ProgressSource, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StorageProgressSource.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private final ObjectStore store;
  private final Duration interval;
  private final Clock clock;
  private final ExecutorService pool;
  private final Map<String, State> states = new ConcurrentHashMap<>();

  private static final class State {
    volatile Progress latest;
    volatile Instant lastRead = Instant.EPOCH;
    volatile boolean reading;
  }

  public StorageProgressSource(ObjectStore store, Duration interval, Clock clock) {
    this.store = store;
    this.interval = interval;
    this.clock = clock;
    this.pool =
        Executors.newFixedThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "progress-reader");
              t.setDaemon(true);
              return t;
            });
  }

  @Override
  public Optional<Progress> latest(FineTuneJob job) {
    State s = states.computeIfAbsent(job.getMetadata().getUid(), k -> new State());
    Instant now = clock.instant();
    if (!s.reading && !now.isBefore(s.lastRead.plus(interval))) {
      s.reading = true;
      s.lastRead = now;
      GcsUri uri = progressUri(job.getSpec().output);
      pool.execute(
          () -> {
            try {
              read(uri).ifPresent(p -> s.latest = p);
            } catch (IOException | RuntimeException e) {
              LOG.debug("progress not readable yet at {}: {}", uri, e.getMessage());
            } finally {
              s.reading = false;
            }
          });
    }
    return Optional.ofNullable(s.latest);
  }

  static GcsUri progressUri(String output) {
    return GcsUri.parse(output.endsWith("/") ? output : output + "/").resolve("progress.json");
  }

  Optional<Progress> read(GcsUri uri) throws IOException {
    try (InputStream in = store.open(uri)) {
      return Optional.of(parse(JSON.readTree(in)));
    } catch (ObjectNotFoundException e) {
      return Optional.empty(); // the trainer has not reported yet
    }
  }

  static Progress parse(JsonNode n) {
    return new Progress(
        n.hasNonNull("step") ? n.get("step").asLong() : null,
        n.hasNonNull("totalSteps") ? n.get("totalSteps").asLong() : null,
        n.hasNonNull("epoch") ? n.get("epoch").asDouble() : null,
        n.hasNonNull("loss") ? n.get("loss").asDouble() : null,
        n.hasNonNull("evalLoss") ? n.get("evalLoss").asDouble() : null,
        n.hasNonNull("tokensPerSecond") ? n.get("tokensPerSecond").asDouble() : null,
        n.hasNonNull("updatedAt") ? n.get("updatedAt").asText() : null,
        n.hasNonNull("lastCheckpoint") ? n.get("lastCheckpoint").asText() : null);
  }

  @Override
  public void forget(FineTuneJob job) {
    states.remove(job.getMetadata().getUid());
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
