package dev.finetune.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.api.v1alpha1.HardwareSpec;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.gcp.iam.FakeIam;
import dev.finetune.operator.gcp.nodepool.FakeClusterManager;
import dev.finetune.operator.gcp.storage.FakeGcsServerExtension;
import dev.finetune.operator.reconcile.Conditions;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Two replicas with leader election, as deploy/ runs them. The leader is killed mid-Provisioning (a
 * pool being created) and, after a fresh standby joined, the next leader mid-Training; each time
 * the standby takes over within the lease time and nothing is done twice. Only the leader collects
 * idle node pools.
 */
class LeaderFailoverIT {
  static final String GSA = "trainer@proj-1.iam.gserviceaccount.com";
  static final Duration WAIT = Duration.ofSeconds(120);

  /** Lease duration (15 s) plus a retry period and some slack. */
  static final Duration TAKEOVER = Duration.ofSeconds(30);

  static final dev.finetune.operator.gcp.nodepool.PoolShape SHAPE =
      new dev.finetune.operator.gcp.nodepool.PoolShape("nvidia-l4", 1, true);

  @RegisterExtension static FakeGcsServerExtension gcs = new FakeGcsServerExtension();

  static KubernetesClient client;
  static String ns;
  static String bucket;
  static FakeClusterManager gke;
  static FakeIam iam;
  static final java.util.List<RunningOperator> replicas = new java.util.ArrayList<>();

  @BeforeAll
  static void setUp() throws Exception {
    client = LocalCluster.client();
    bucket = gcs.server().newBucket("failoverdata");
    ns = LocalCluster.tenantNamespace("failover", GSA, bucket);
    TrainerOutput.writeTrainingData(gcs.server().objectStore(), bucket);
    TrainerOutput.writeFinishedRun(gcs.server().objectStore(), bucket, "fo");
    gke = FakeClusterManager.start().completeOperationsAfterPolls(1_000_000);
    iam = FakeIam.start();
    LocalCluster.poolNode(SHAPE.poolName() + "-failover-0", SHAPE);
  }

  @AfterAll
  static void tearDown() {
    replicas.forEach(RunningOperator::close);
    client.nodes().withName(SHAPE.poolName() + "-failover-0").delete();
    gke.close();
    iam.close();
  }

  static RunningOperator replica(String id) throws Exception {
    RunningOperator r =
        new RunningOperator(
                ns,
                gcs.server().endpoint(),
                Map.of("FINETUNE_IAM_MODE", "gcp", "FINETUNE_NODE_POOL_IDLE_TTL", "PT2S"),
                RunningOperator.standIns(gcs.server(), gke, iam))
            .replica(id, ns)
            .start();
    replicas.add(r);
    return r;
  }

  static RunningOperator leaderOf(RunningOperator a, RunningOperator b) {
    await().atMost(TAKEOVER).until(() -> a.operator().isLeader() || b.operator().isLeader());
    return a.operator().isLeader() ? a : b;
  }

  static FineTuneJob get(String name) {
    return client.resources(FineTuneJob.class).inNamespace(ns).withName(name).get();
  }

  static List<Pod> pods() {
    return client.pods().inNamespace(ns).withLabel("finetune.dev/job-name", "fo").list().getItems();
  }

  @Test
  void theStandbyTakesOverWithinTheLeaseTimeAndNothingIsDoneTwice() throws Exception {
    RunningOperator a = replica("replica-a");
    RunningOperator b = replica("replica-b");
    RunningOperator leader = leaderOf(a, b);
    RunningOperator standby = leader == a ? b : a;

    // Only the leader looks for idle pools to delete.
    await().atMost(WAIT).until(() -> leader.operator().idlePoolCollections() >= 2);
    assertThat(standby.operator().idlePoolCollections()).isZero();

    FineTuneJob job = Fixtures.job(ns, "fo");
    job.getMetadata().setUid(null);
    job.getMetadata().setGeneration(null);
    job.getMetadata().setLabels(Map.of("kwok.finetune.dev/hold", "true"));
    job.getSpec().dataset.train = "gs://" + bucket + "/train.jsonl";
    job.getSpec().dataset.validation = null;
    job.getSpec().output = "gs://" + bucket + "/runs/fo/";
    job.getSpec().hardware.provisioning = HardwareSpec.Provisioning.MANAGED;
    String uid = client.resource(job).create().getMetadata().getUid();

    // Mid-Provisioning: GKE is creating the pool.
    await()
        .atMost(WAIT)
        .until(
            () ->
                Conditions.get(get("fo").getStatus(), Conditions.CAPACITY_READY)
                    .filter(c -> String.valueOf(c.getMessage()).contains("GKE is creating"))
                    .isPresent());
    assertThat(gke.createCalls()).isEqualTo(1);
    leader.stop();
    Instant killed = Instant.now();
    await().atMost(TAKEOVER).until(() -> standby.operator().isLeader());
    assertThat(Duration.between(killed, Instant.now())).isLessThan(TAKEOVER);
    gke.completeAllOperations();
    gke.completeOperationsAfterPolls(1);
    await()
        .atMost(WAIT)
        .until(
            () ->
                pods().stream().anyMatch(p -> "Running".equals(p.getStatus().getPhase()))
                    && get("fo").getStatus().phase == Phase.Training);

    // Mid-Training: a fresh standby joins, the leader goes.
    RunningOperator c = replica("replica-c");
    assertThat(c.operator().isLeader()).isFalse();
    standby.stop();
    Instant killed2 = Instant.now();
    await().atMost(TAKEOVER).until(() -> c.operator().isLeader());
    assertThat(Duration.between(killed2, Instant.now())).isLessThan(TAKEOVER);
    LocalCluster.succeedPod(ns, pods().get(0));
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              FineTuneJob j = get("fo");
              assertThat(j.getStatus().phase).as(j.getStatus().message).isEqualTo(Phase.Succeeded);
              assertThat(j.getStatus().identity.releasedAt).isNotNull();
            });

    assertThat(gke.createCalls()).isEqualTo(1);
    assertThat(iam.setCalls()).isEqualTo(2);
    assertThat(pods()).hasSize(1);
    assertThat(
            client
                .batch()
                .v1()
                .jobs()
                .inNamespace(ns)
                .withLabel("finetune.dev/job-name", "fo")
                .list()
                .getItems())
        .hasSize(1);
    Map<String, Long> byReason =
        client.v1().events().inNamespace(ns).list().getItems().stream()
            .filter(e -> uid.equals(e.getInvolvedObject().getUid()))
            .collect(Collectors.groupingBy(Event::getReason, Collectors.counting()));
    assertThat(byReason)
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "Validating", 1L,
                "Provisioning", 1L,
                "Training", 1L,
                "Evaluating", 1L,
                "Succeeded", 1L));
  }
}
