package dev.finetune.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.container.v1.NodePool;
import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.api.v1alpha1.HardwareSpec;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.gcp.iam.FakeIam;
import dev.finetune.operator.gcp.iam.WorkloadIdentityMembers;
import dev.finetune.operator.gcp.nodepool.FakeClusterManager;
import dev.finetune.operator.gcp.storage.FakeGcsServerExtension;
import dev.finetune.operator.reconcile.Conditions;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Managed GPU node pools and Workload Identity, with the real Google client libraries talking to
 * stateful in-process stand-ins of the GKE cluster manager and IAM, and the real control plane
 * scheduling the trainer on the nodes a pool "scales up" to.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CapacityAndIdentityIT {
  static final String GSA = "trainer@proj-1.iam.gserviceaccount.com";
  static final Duration WAIT = Duration.ofSeconds(180);
  static final String POOL = "ft-h100-x8-spot";

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
    bucket = gcs.server().newBucket("capdata");
    ns = LocalCluster.tenantNamespace("capacity", "*@proj-1.iam.gserviceaccount.com", bucket);
    TrainerOutput.writeTrainingData(gcs.server().objectStore(), bucket);
    gke = FakeClusterManager.start().completeOperationsAfterPolls(3);
    iam = FakeIam.start();
    operator = newOperator().start();
  }

  static RunningOperator newOperator() {
    return new RunningOperator(
        ns,
        gcs.server().endpoint(),
        Map.of("FINETUNE_IAM_MODE", "gcp", "FINETUNE_NODE_POOL_IDLE_TTL", "PT3S"),
        RunningOperator.standIns(gcs.server(), gke, iam));
  }

  @AfterAll
  static void tearDown() {
    if (operator != null) {
      operator.close();
    }
    client.nodes().withLabel("cloud.google.com/gke-nodepool", POOL).delete();
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
    job.getSpec().hardware.accelerator = HardwareSpec.Accelerator.NVIDIA_H100_80GB;
    job.getSpec().hardware.count = 8;
    // The size of the model, so that checking 8 GPUs against it reads nothing from the Hub.
    job.getSpec().model.parameters = "1B";
    job.getSpec().hardware.spot = true;
    job.getSpec().hardware.provisioning = HardwareSpec.Provisioning.MANAGED;
    return job;
  }

  static FineTuneJob get(String name) {
    return client.resources(FineTuneJob.class).inNamespace(ns).withName(name).get();
  }

  static String condition(String name, String type) {
    FineTuneJob j = get(name);
    return j == null || j.getStatus() == null
        ? null
        : Conditions.get(j.getStatus(), type)
            .map(c -> c.getStatus() + "/" + c.getReason())
            .orElse(null);
  }

  /** What GKE's autoscaler does when a pool scales up: a node with the pool's labels and taint. */
  static void scaleUp(NodePool pool) {
    Node node =
        new NodeBuilder()
            .withNewMetadata()
            .withName(POOL + "-node-0")
            .withAnnotations(Map.of("kwok.x-k8s.io/node", "fake"))
            .withLabels(
                Map.of(
                    "type", "kwok",
                    "cloud.google.com/gke-nodepool", pool.getName(),
                    "cloud.google.com/gke-accelerator", "nvidia-h100-80gb",
                    "cloud.google.com/gke-spot", "true",
                    "node.kubernetes.io/instance-type", pool.getConfig().getMachineType()))
            .endMetadata()
            .withNewSpec()
            .addNewTaint()
            .withKey("nvidia.com/gpu")
            .withValue("present")
            .withEffect("NoSchedule")
            .endTaint()
            .endSpec()
            .withNewStatus()
            .withCapacity(
                Map.of(
                    "cpu", new Quantity("208"),
                    "memory", new Quantity("1872Gi"),
                    "ephemeral-storage", new Quantity("2000Gi"),
                    "pods", new Quantity("110"),
                    "nvidia.com/gpu", new Quantity("16")))
            .withAllocatable(
                Map.of(
                    "cpu", new Quantity("208"),
                    "memory", new Quantity("1872Gi"),
                    "ephemeral-storage", new Quantity("2000Gi"),
                    "pods", new Quantity("110"),
                    "nvidia.com/gpu", new Quantity("16")))
            .endStatus()
            .build();
    client.nodes().resource(node).create();
  }

  @Test
  @Order(1)
  void twoJobsOfOneShapeShareOnePoolAndRunOnItsNodes() throws Exception {
    client.resource(job("first")).create();
    client.resource(job("second")).create();
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              assertThat(condition("first", Conditions.CAPACITY_READY))
                  .isEqualTo("True/NodePoolReady");
              assertThat(condition("second", Conditions.CAPACITY_READY))
                  .isEqualTo("True/NodePoolReady");
            });
    assertThat(gke.createCalls()).isEqualTo(1);
    NodePool pool = gke.pools().values().iterator().next();
    assertThat(pool.getName()).isEqualTo(POOL);
    assertThat(pool.getConfig().getMachineType()).isEqualTo("a3-highgpu-8g");
    assertThat(pool.getConfig().getSpot()).isTrue();
    assertThat(pool.getAutoscaling().getMinNodeCount()).isZero();
    assertThat(get("first").getStatus().hardware.nodePool).isEqualTo(POOL);

    // The pods wait for a node until the pool scales up; then the scheduler uses it.
    await().atMost(WAIT).until(() -> pods("first").size() == 1 && pods("second").size() == 1);
    assertThat(pods("first").get(0).getSpec().getNodeName()).isNull();
    scaleUp(pool);
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              assertThat(get("first").getStatus().phase).isIn(Phase.Evaluating, Phase.Failed);
              assertThat(get("second").getStatus().phase).isIn(Phase.Evaluating, Phase.Failed);
              assertThat(Conditions.isTrue(get("first").getStatus(), Conditions.TRAINING_COMPLETE))
                  .isTrue();
            });
    assertThat(pods("first").get(0).getSpec().getNodeName()).isEqualTo(POOL + "-node-0");
    assertThat(pods("second").get(0).getSpec().getNodeName()).isEqualTo(POOL + "-node-0");
  }

  static List<Pod> pods(String name) {
    return client.pods().inNamespace(ns).withLabel("finetune.dev/job-name", name).list().getItems();
  }

  @Test
  @Order(2)
  void theIamGrantIsRecordedInStatusAndRemovedWhenTheRunEnds() {
    String member = WorkloadIdentityMembers.classicMember("test-project", ns, "first-trainer");
    String resource = WorkloadIdentityMembers.serviceAccountResource(GSA);
    // The run is over (the stand-in trainer wrote no predictions): the grant goes with it.
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              FineTuneJob first = get("first");
              assertThat(first.getStatus().phase.terminal()).isTrue();
              assertThat(first.getStatus().identity.grants).isNull();
              assertThat(first.getStatus().identity.releasedAt).isNotNull();
            });
    assertThat(iam.members(resource, WorkloadIdentityMembers.WORKLOAD_IDENTITY_USER))
        .doesNotContain(member);
    assertThat(condition("first", Conditions.IDENTITY_BOUND)).isEqualTo("False/Released");

    // Deleting a finished job has nothing left to remove.
    int sets = iam.setCalls();
    client.resources(FineTuneJob.class).inNamespace(ns).withName("first").delete();
    await().atMost(WAIT).until(() -> get("first") == null);
    assertThat(iam.setCalls()).isEqualTo(sets);
  }

  @Test
  @Order(3)
  void aServiceAccountOutsideTheNamespaceListIsNeverBound() {
    FineTuneJob j = job("outsider");
    j.getSpec().identity.gcpServiceAccount = "trainer@other-project.iam.gserviceaccount.com";
    client.resource(j).create();
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(condition("outsider", Conditions.IDENTITY_BOUND))
                    .isEqualTo("False/NotAllowed"));
    assertThat(get("outsider").getStatus().phase).isEqualTo(Phase.Failed);
    // Nothing was even planned: no grant recorded, none to release.
    assertThat(get("outsider").getStatus().identity).isNull();
    assertThat(
            iam.members(
                WorkloadIdentityMembers.serviceAccountResource(
                    "trainer@other-project.iam.gserviceaccount.com"),
                WorkloadIdentityMembers.WORKLOAD_IDENTITY_USER))
        .isEmpty();
  }

  @Test
  @Order(4)
  void anOperatorRestartDuringPoolCreationCreatesNoSecondPool() throws Exception {
    gke.completeOperationsAfterPolls(1_000_000);
    FineTuneJob j = job("slowpool");
    j.getSpec().hardware.accelerator = HardwareSpec.Accelerator.NVIDIA_A100_80GB;
    j.getSpec().hardware.count = 1;
    client.resource(j).create();
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(condition("slowpool", Conditions.CAPACITY_READY))
                    .isEqualTo("False/Creating"));
    int creates = gke.createCalls();
    operator.stop();
    int looks = gke.calls(FakeClusterManager.Rpc.GET_POOL);
    operator = newOperator().start();
    // Witness that the restarted operator reconciled the job: it asked GKE about the pool again.
    await().atMost(WAIT).until(() -> gke.calls(FakeClusterManager.Rpc.GET_POOL) > looks + 1);
    assertThat(condition("slowpool", Conditions.CAPACITY_READY)).isEqualTo("False/Creating");
    assertThat(gke.createCalls()).isEqualTo(creates);
    assertThat(gke.pools().keySet().stream().filter(k -> k.endsWith("ft-a100-80-x1-spot")))
        .hasSize(1);
    gke.completeAllOperations();
    gke.completeOperationsAfterPolls(1);
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(condition("slowpool", Conditions.CAPACITY_READY))
                    .isEqualTo("True/NodePoolReady"));
    assertThat(gke.createCalls()).isEqualTo(creates);
  }

  @Test
  @Order(5)
  void poolsNobodyUsesGoAfterTheIdleTtl() {
    // Every job here is finished or deleted; the pools go once idle for the TTL (3s here).
    client.resources(FineTuneJob.class).inNamespace(ns).delete();
    await().atMost(WAIT).untilAsserted(() -> assertThat(gke.pools()).isEmpty());
    assertThat(gke.deleteCalls()).isGreaterThanOrEqualTo(2);
  }

  @Test
  @Order(6)
  void whenIamIsUnreachableTheDeletionSaysSoAndFinishesOnceItIsBack() {
    String resource = WorkloadIdentityMembers.serviceAccountResource(GSA);
    String member = WorkloadIdentityMembers.classicMember("test-project", ns, "stuck-trainer");
    FineTuneJob j = job("stuck");
    j.getSpec().hardware.provisioning = HardwareSpec.Provisioning.EXISTING;
    j.getMetadata().setLabels(Map.of("kwok.finetune.dev/hold", "true"));
    client.resource(j).create();
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(iam.members(resource, WorkloadIdentityMembers.WORKLOAD_IDENTITY_USER))
                    .contains(member));
    iam.unavailable(true);
    try {
      client.resources(FineTuneJob.class).inNamespace(ns).withName("stuck").delete();
      await()
          .atMost(WAIT)
          .untilAsserted(
              () -> {
                assertThat(condition("stuck", Conditions.CLEANUP_BLOCKED))
                    .isEqualTo("True/Transient");
                assertThat(condition("stuck", Conditions.STALLED)).startsWith("True/");
                assertThat(client.v1().events().inNamespace(ns).list().getItems())
                    .anySatisfy(
                        e -> {
                          assertThat(e.getInvolvedObject().getName()).isEqualTo("stuck");
                          assertThat(e.getReason()).isEqualTo("CleanupBlocked");
                          assertThat(e.getMessage()).contains("finetune.dev/skip-iam-cleanup");
                        });
              });
      assertThat(get("stuck").getMetadata().getFinalizers()).isNotEmpty();
    } finally {
      iam.unavailable(false);
    }
    await().atMost(WAIT).until(() -> get("stuck") == null);
    assertThat(iam.members(resource, WorkloadIdentityMembers.WORKLOAD_IDENTITY_USER))
        .doesNotContain(member);
  }

  @Test
  @Order(7)
  void anAdminCanLetAJobGoWhoseGrantsCannotBeRemoved() {
    String resource = WorkloadIdentityMembers.serviceAccountResource(GSA);
    String member = WorkloadIdentityMembers.classicMember("test-project", ns, "abandon-trainer");
    FineTuneJob j = job("abandon");
    j.getSpec().hardware.provisioning = HardwareSpec.Provisioning.EXISTING;
    j.getMetadata().setLabels(Map.of("kwok.finetune.dev/hold", "true"));
    client.resource(j).create();
    await()
        .atMost(WAIT)
        .until(
            () ->
                iam.members(resource, WorkloadIdentityMembers.WORKLOAD_IDENTITY_USER)
                    .contains(member));
    iam.unavailable(true);
    try {
      client.resources(FineTuneJob.class).inNamespace(ns).withName("abandon").delete();
      await()
          .atMost(WAIT)
          .until(() -> "True/Transient".equals(condition("abandon", Conditions.CLEANUP_BLOCKED)));
      client
          .resources(FineTuneJob.class)
          .inNamespace(ns)
          .withName("abandon")
          .edit(
              x -> {
                x.getMetadata().setAnnotations(Map.of("finetune.dev/skip-iam-cleanup", "true"));
                return x;
              });
      await().atMost(WAIT).until(() -> get("abandon") == null);
      assertThat(client.v1().events().inNamespace(ns).list().getItems())
          .anySatisfy(
              e -> {
                assertThat(e.getInvolvedObject().getName()).isEqualTo("abandon");
                assertThat(e.getReason()).isEqualTo("CleanupSkipped");
                assertThat(e.getMessage()).contains(member);
              });
    } finally {
      iam.unavailable(false);
    }
    // Left in place, as the admin chose.
    assertThat(iam.members(resource, WorkloadIdentityMembers.WORKLOAD_IDENTITY_USER))
        .contains(member);
  }

  @Test
  @Order(8)
  void aPoolDeletedUnderATrainingJobIsCreatedAgain() throws Exception {
    client.nodes().withLabel("cloud.google.com/gke-nodepool", POOL).delete();
    await()
        .atMost(WAIT)
        .until(
            () ->
                client
                    .nodes()
                    .withLabel("cloud.google.com/gke-nodepool", POOL)
                    .list()
                    .getItems()
                    .isEmpty());
    client.resource(job("regrow")).create();
    await()
        .atMost(WAIT)
        .until(
            () ->
                get("regrow").getStatus() != null
                    && get("regrow").getStatus().phase == Phase.Training
                    && pods("regrow").size() == 1);
    int creates = gke.createCalls();
    String key =
        gke.pools().keySet().stream().filter(k -> k.endsWith("/" + POOL)).findFirst().orElseThrow();
    // Deleted by hand (or by anything that is not this operator) while the pod waits for a node.
    gke.client().deleteNodePool(key);
    gke.completeAllOperations();
    await().atMost(WAIT).until(() -> !gke.pools().containsKey(key));
    // The unschedulable trainer pod of a managed job has its pool ensured again.
    await().atMost(WAIT).until(() -> gke.createCalls() == creates + 1);
    await().atMost(WAIT).until(() -> gke.pools().containsKey(key));
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> assertThat(get("regrow").getStatus().message).contains("node pool " + POOL));
    scaleUp(gke.pools().get(key));
    await()
        .atMost(WAIT)
        .until(() -> Conditions.isTrue(get("regrow").getStatus(), Conditions.TRAINING_COMPLETE));
    assertThat(gke.createCalls()).isEqualTo(creates + 1);
    assertThat(pods("regrow").get(0).getSpec().getNodeName()).isEqualTo(POOL + "-node-0");
  }
}
