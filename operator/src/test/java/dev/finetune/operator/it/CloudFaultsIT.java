package dev.finetune.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.HardwareSpec;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.gcp.iam.FakeIam;
import dev.finetune.operator.gcp.iam.WorkloadIdentityMembers;
import dev.finetune.operator.gcp.nodepool.FakeClusterManager;
import dev.finetune.operator.gcp.nodepool.PoolShape;
import dev.finetune.operator.gcp.storage.FakeGcsServerExtension;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Google Cloud misbehaving while jobs come and go: IAM writes that fail, race another writer or
 * hang, GKE pool deletes and lists that fail. 100 jobs are created and deleted at random points of
 * their lives. Witness: the IAM stand-in's policies hold no grant of any of them afterwards, and no
 * FineTuneJob is left stuck on its finalizer.
 */
class CloudFaultsIT {
  static final String GSA = "trainer@proj-1.iam.gserviceaccount.com";
  static final int CYCLES = Integer.getInteger("finetune.faults.cycles", 100);
  static final int WAVE = 10;
  static final PoolShape SHAPE = new PoolShape("nvidia-l4", 1, true);

  @RegisterExtension static FakeGcsServerExtension gcs = new FakeGcsServerExtension();

  static KubernetesClient client;
  static String ns;
  static String bucket;
  static FakeClusterManager gke;
  static FakeIam iam;
  static RunningOperator operator;

  @BeforeAll
  static void setUp() throws Exception {
    client = LocalCluster.client();
    bucket = gcs.server().newBucket("faultdata");
    ns = LocalCluster.tenantNamespace("faults", GSA, bucket);
    TrainerOutput.writeTrainingData(gcs.server().objectStore(), bucket);
    gke = FakeClusterManager.start().completeOperationsAfterPolls(1);
    iam = FakeIam.start();
    LocalCluster.poolNode(SHAPE.poolName() + "-faults-0", SHAPE);
    operator =
        new RunningOperator(
                ns,
                gcs.server().endpoint(),
                Map.of("FINETUNE_IAM_MODE", "gcp", "FINETUNE_NODE_POOL_IDLE_TTL", "PT1S"),
                RunningOperator.standIns(gcs.server(), gke, iam))
            .start();
  }

  @AfterAll
  static void tearDown() {
    if (operator != null) {
      operator.close();
    }
    client.nodes().withName(SHAPE.poolName() + "-faults-0").delete();
    gke.close();
    iam.close();
  }

  static FineTuneJob job(String name) {
    FineTuneJob job = Fixtures.job(ns, name);
    job.getMetadata().setUid(null);
    job.getMetadata().setGeneration(null);
    job.getSpec().dataset.train = "gs://" + bucket + "/train.jsonl";
    job.getSpec().dataset.validation = null;
    job.getSpec().output = "gs://" + bucket + "/runs/" + name + "/";
    job.getSpec().hardware.provisioning = HardwareSpec.Provisioning.MANAGED;
    return job;
  }

  /** Some IAM and GKE calls of the next moments fail, race or hang briefly. */
  static void injectFaults(Random random) {
    switch (random.nextInt(6)) {
      case 0 -> iam.failNextSet(Status.UNAVAILABLE.withDescription("injected"));
      case 1 -> iam.failNextGet(Status.DEADLINE_EXCEEDED.withDescription("injected"));
      case 2 -> iam.concurrentWritesBeforeNextSets(1 + random.nextInt(5));
      case 3 -> {
        java.util.concurrent.CountDownLatch latch = new java.util.concurrent.CountDownLatch(1);
        iam.holdNextSet(latch);
        new Thread(
                () -> {
                  try {
                    Thread.sleep(200 + random.nextInt(800));
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                  latch.countDown();
                })
            .start();
      }
      case 4 -> gke.failNext(FakeClusterManager.Rpc.DELETE, Status.UNAVAILABLE);
      default -> gke.failNext(FakeClusterManager.Rpc.LIST_POOLS, Status.INTERNAL);
    }
  }

  static boolean reached(String name, int point) {
    FineTuneJob j = client.resources(FineTuneJob.class).inNamespace(ns).withName(name).get();
    if (point == 0) {
      return true;
    }
    if (j == null || j.getStatus() == null) {
      return false;
    }
    var s = j.getStatus();
    if (s.phase != null && s.phase.terminal()) {
      return true;
    }
    return switch (point) {
      case 1 -> s.identity != null;
      case 2 ->
          dev.finetune.operator.reconcile.Conditions.isTrue(
              s, dev.finetune.operator.reconcile.Conditions.IDENTITY_BOUND);
      case 3 -> s.phase == dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase.Training;
      default -> false;
    };
  }

  @Test
  void afterManyCreateDeleteCyclesUnderFaultsNoGrantIsLeft() throws Exception {
    Random random = new Random(42);
    int made = 0;
    for (int wave = 0; made < CYCLES; wave++) {
      List<String> names = new ArrayList<>();
      for (int i = 0; i < WAVE && made < CYCLES; i++, made++) {
        String name = "c" + made;
        names.add(name);
        client.resource(job(name)).create();
        injectFaults(random);
      }
      // Delete each at some point of its life: at once, once its grants are recorded, once
      // bound, while training, or after the run.
      Map<String, Integer> points = new java.util.LinkedHashMap<>();
      names.forEach(n -> points.put(n, random.nextInt(5)));
      await()
          .atMost(Duration.ofMinutes(3))
          .pollInterval(Duration.ofMillis(100))
          .until(
              () -> {
                for (var it = points.entrySet().iterator(); it.hasNext(); ) {
                  var e = it.next();
                  if (reached(e.getKey(), e.getValue())) {
                    injectFaults(random);
                    client
                        .resources(FineTuneJob.class)
                        .inNamespace(ns)
                        .withName(e.getKey())
                        .delete();
                    it.remove();
                  }
                }
                return points.isEmpty();
              });
      await()
          .atMost(Duration.ofMinutes(3))
          .pollInterval(Duration.ofMillis(250))
          .untilAsserted(
              () ->
                  assertThat(client.resources(FineTuneJob.class).inNamespace(ns).list().getItems())
                      .as("jobs still there")
                      .isEmpty());
    }
    assertThat(iam.allMembers(WorkloadIdentityMembers.WORKLOAD_IDENTITY_USER))
        .as("grants left in IAM")
        .isEmpty();
    // Nothing needs the pool any more: the collector removes it, through the injected faults.
    await().atMost(Duration.ofMinutes(2)).untilAsserted(() -> assertThat(gke.pools()).isEmpty());
  }
}
