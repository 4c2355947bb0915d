package dev.finetune.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.operator.cost.PriceTable;
import dev.finetune.operator.gcp.nodepool.FakeClusterManager;
import dev.finetune.operator.gcp.nodepool.GkeNodePoolConfig;
import dev.finetune.operator.gcp.nodepool.GkeNodePoolManager;
import dev.finetune.operator.gcp.nodepool.NodePoolManager;
import dev.finetune.operator.gcp.storage.GoogleCloudStorage;
import dev.finetune.operator.reconcile.Flow;
import dev.finetune.operator.reconcile.ports.Capacity;
import dev.finetune.operator.reconcile.ports.IdentityBinding;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Google clients that cannot be built at startup (no credentials yet, metadata server away): the
 * jobs that need them wait and say why, and carry on once the client can be built. Building a
 * client is the one fault no stand-in can produce, so the factory here fails on purpose.
 */
class WiringTest {
  static final Duration WAIT = Duration.ofSeconds(20);

  @Test
  void withoutGoogleCredentialsAtStartupJobsWaitInsteadOfFailing() throws Exception {
    try (FakeClusterManager gke = FakeClusterManager.start()) {
      AtomicBoolean credentials = new AtomicBoolean(false);
      AtomicInteger gkeBuilds = new AtomicInteger();
      Wiring.GcpClients gcp =
          new Wiring.GcpClients(
              GoogleCloudStorage.forEmulator("127.0.0.1:1", "p"),
              () -> {
                gkeBuilds.incrementAndGet();
                if (!credentials.get()) {
                  throw new IllegalStateException("Application Default Credentials not found");
                }
                try {
                  NodePoolManager m =
                      new GkeNodePoolManager(
                          gke.client(),
                          new GkeNodePoolConfig(
                              "p", "us-central1", "c", 3, "LATEST", null, List.of(), 0));
                  return m;
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              },
              () -> {
                throw new IllegalStateException("Application Default Credentials not found");
              });
      OperatorConfig config = OperatorConfig.fromEnv(Map.of("FINETUNE_IAM_MODE", "gcp"));
      // Nothing is built at startup.
      Flow.Ports ports = Wiring.ports(config, gcp, PriceTable.defaults());
      assertThat(gkeBuilds).hasValue(0);

      Capacity.Outcome waiting =
          await()
              .atMost(WAIT)
              .until(
                  () -> ports.capacity().ensure("nvidia-l4", 1, true, 0),
                  o -> o instanceof Capacity.Waiting);
      assertThat(((Capacity.Waiting) waiting).reason()).isEqualTo("GkeUnavailable");
      assertThat(((Capacity.Waiting) waiting).message())
          .contains("Application Default Credentials not found");

      FineTuneJob job = Fixtures.job("ml", "j");
      IdentityBinding.Outcome bind =
          await()
              .atMost(WAIT)
              .until(
                  () -> ports.identity().bind(job, "j-trainer", null),
                  o ->
                      !(o instanceof IdentityBinding.Retry r
                          && IdentityBinding.IN_PROGRESS.equals(r.reason())));
      assertThat(bind).isInstanceOf(IdentityBinding.Retry.class);
      assertThat(((IdentityBinding.Retry) bind).reason()).isEqualTo("IamUnavailable");
      // Nothing was granted, and a release does not pretend otherwise.
      IdentityBinding.Outcome release =
          await()
              .atMost(WAIT)
              .until(
                  () -> ports.identity().release(job, ports.identity().grants(job, "j-trainer")),
                  o ->
                      !(o instanceof IdentityBinding.Retry r
                          && IdentityBinding.IN_PROGRESS.equals(r.reason())));
      assertThat(release).isInstanceOf(IdentityBinding.Retry.class);

      // Credentials arrive: the same ports go on, and GKE is asked for the pool.
      credentials.set(true);
      await()
          .atMost(Duration.ofSeconds(40))
          .pollInterval(Duration.ofMillis(200))
          .until(
              () -> {
                ports.capacity().ensure("nvidia-l4", 1, true, 0);
                return gke.createCalls() == 1;
              });
      assertThat(gke.pools()).hasSize(1);
    }
  }
}
