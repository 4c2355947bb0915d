package dev.finetune.operator.gcp.nodepool;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.container.v1.GPUDriverInstallationConfig;
import com.google.container.v1.NodeConfig;
import com.google.container.v1.NodePool;
import com.google.container.v1.NodeTaint;
import com.google.container.v1.WorkloadMetadataConfig;
import io.grpc.Status;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class GkeNodePoolManagerTest {

  private static final GkeNodePoolConfig CONFIG =
      new GkeNodePoolConfig("proj", "us-central1", "train", 3, "LATEST", null, List.of(), 0);

  private FakeClusterManager fake;
  private GkeNodePoolManager manager;

  @BeforeEach
  void setUp() throws Exception {
    fake = FakeClusterManager.start().completeOperationsAfterPolls(3);
    manager = new GkeNodePoolManager(fake.client(), CONFIG);
  }

  @AfterEach
  void tearDown() {
    fake.close();
  }

  private PoolStatus ensureUntilSettled(PoolShape shape) {
    PoolStatus s = manager.ensure(shape);
    for (int i = 0; i < 10 && s instanceof PoolStatus.Creating; i++) {
      s = manager.ensure(shape);
    }
    return s;
  }

  @Test
  void createsPoolWithExpectedSpecAndBecomesReadyAfterPolls() {
    PoolShape shape = new PoolShape("nvidia-l4", 1, true);
    List<String> readied = new ArrayList<>();
    fake.onPoolReady(p -> readied.add(p.getName()));

    PoolStatus first = manager.ensure(shape);
    assertThat(first).isInstanceOf(PoolStatus.Creating.class);
    assertThat(((PoolStatus.Creating) first).operationId())
        .startsWith("projects/proj/locations/us-central1/operations/");
    assertThat(((PoolStatus.Creating) first).poolName()).isEqualTo("ft-l4-x1-spot");

    assertThat(ensureUntilSettled(shape)).isEqualTo(new PoolStatus.Ready("ft-l4-x1-spot"));
    assertThat(fake.createCalls()).isEqualTo(1);
    assertThat(readied).containsExactly("ft-l4-x1-spot");

    NodePool pool =
        fake.pools()
            .get("projects/proj/locations/us-central1/clusters/train/nodePools/ft-l4-x1-spot");
    assertThat(pool).isNotNull();
    assertThat(pool.getInitialNodeCount()).isZero();
    assertThat(pool.getAutoscaling().getEnabled()).isTrue();
    assertThat(pool.getAutoscaling().getMinNodeCount()).isZero();
    assertThat(pool.getAutoscaling().getMaxNodeCount()).isEqualTo(3);
    NodeConfig nc = pool.getConfig();
    assertThat(nc.getMachineType()).isEqualTo("g2-standard-4");
    assertThat(nc.getSpot()).isTrue();
    assertThat(nc.getAcceleratorsList()).hasSize(1);
    assertThat(nc.getAccelerators(0).getAcceleratorType()).isEqualTo("nvidia-l4");
    assertThat(nc.getAccelerators(0).getAcceleratorCount()).isEqualTo(1);
    assertThat(nc.getAccelerators(0).getGpuDriverInstallationConfig().getGpuDriverVersion())
        .isEqualTo(GPUDriverInstallationConfig.GPUDriverVersion.LATEST);
    assertThat(nc.getTaintsList())
        .containsExactly(
            NodeTaint.newBuilder()
                .setKey("nvidia.com/gpu")
                .setValue("present")
                .setEffect(NodeTaint.Effect.NO_SCHEDULE)
                .build());
    assertThat(nc.getLabelsMap())
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "finetune.dev/managed-by", "finetune-operator",
                "finetune.dev/pool-shape", "l4-x1-spot"));
    assertThat(nc.getWorkloadMetadataConfig().getMode())
        .isEqualTo(WorkloadMetadataConfig.Mode.GKE_METADATA);
    assertThat(nc.getOauthScopesList())
        .containsExactly("https://www.googleapis.com/auth/cloud-platform");
  }

  @Test
  void machineTypesPerFamily() {
    assertThat(manager.poolSpec(new PoolShape("nvidia-tesla-t4", 2, false)).getConfig())
        .satisfies(
            nc -> {
              assertThat(nc.getMachineType()).isEqualTo("n1-standard-16");
              assertThat(nc.getAccelerators(0).getAcceleratorCount()).isEqualTo(2);
              assertThat(nc.getSpot()).isFalse();
            });
    assertThat(new PoolShape("nvidia-tesla-a100", 4, false).machineType())
        .isEqualTo("a2-highgpu-4g");
    assertThat(new PoolShape("nvidia-a100-80gb", 8, false).machineType())
        .isEqualTo("a2-ultragpu-8g");
    assertThat(new PoolShape("nvidia-h100-80gb", 8, false).machineType())
        .isEqualTo("a3-highgpu-8g");
    assertThat(new PoolShape("nvidia-l4", 8, true).machineType()).isEqualTo("g2-standard-96");
  }

  @Test
  void secondEnsureWhileCreatingDoesNotCreateAgain() {
    PoolShape shape = new PoolShape("nvidia-tesla-a100", 1, false);
    fake.completeOperationsAfterPolls(100);
    PoolStatus a = manager.ensure(shape);
    PoolStatus b = manager.ensure(shape);
    assertThat(a).isInstanceOf(PoolStatus.Creating.class);
    assertThat(b).isInstanceOf(PoolStatus.Creating.class);
    assertThat(((PoolStatus.Creating) b).operationId())
        .isEqualTo(((PoolStatus.Creating) a).operationId());
    assertThat(fake.createCalls()).isEqualTo(1);
    assertThat(fake.pools()).hasSize(1);
  }

  @Test
  void restartMidOperationReusesTheOperation() throws Exception {
    PoolShape shape = new PoolShape("nvidia-l4", 2, false);
    fake.completeOperationsAfterPolls(4);
    PoolStatus.Creating first = (PoolStatus.Creating) manager.ensure(shape);

    // A new manager (operator restart), even if GKE does not show the pool yet.
    GkeNodePoolManager restarted = new GkeNodePoolManager(fake.client(), CONFIG);
    PoolStatus again = restarted.ensure(shape);
    assertThat(again).isEqualTo(new PoolStatus.Creating("ft-l4-x2", first.operationId()));
    PoolStatus s = again;
    for (int i = 0; i < 5 && !(s instanceof PoolStatus.Ready); i++) {
      s = restarted.ensure(shape);
    }
    assertThat(s).isEqualTo(new PoolStatus.Ready("ft-l4-x2"));
    assertThat(fake.createCalls()).isEqualTo(1);
  }

  @Test
  void restartWhenPoolIsOnlyVisibleThroughItsOperation() throws Exception {
    fake.poolVisibleWhileCreating(false).completeOperationsAfterPolls(100);
    PoolShape shape = new PoolShape("nvidia-l4", 1, false);
    PoolStatus.Creating first = (PoolStatus.Creating) manager.ensure(shape);
    PoolStatus again = new GkeNodePoolManager(fake.client(), CONFIG).ensure(shape);
    assertThat(again).isEqualTo(first);
    assertThat(fake.createCalls()).isEqualTo(1);
  }

  @Test
  void alreadyExistsIsSuccess() {
    PoolShape shape = new PoolShape("nvidia-l4", 1, false);
    fake.poolVisibleWhileCreating(false).completeOperationsAfterPolls(1);
    manager.ensure(shape); // creates
    fake.completeAllOperations();
    fake.failNext(FakeClusterManager.Rpc.GET_POOL, Status.NOT_FOUND.withDescription("gone"));
    // get says NOT_FOUND (stale read), so the manager tries to create: ALREADY_EXISTS -> Ready.
    assertThat(manager.ensure(shape)).isEqualTo(new PoolStatus.Ready("ft-l4-x1"));
    assertThat(fake.createCalls()).isEqualTo(2);
    assertThat(fake.pools()).hasSize(1);
  }

  @Test
  void quotaExceededWaitsForCapacityNamingTheQuota() {
    fake.failNextCreate(
        Status.RESOURCE_EXHAUSTED.withDescription(
            "Insufficient regional quota to satisfy request: resource \"NVIDIA_L4_GPUS\": request"
                + " requires '1.0' and is short '1.0'. project has a quota of '0.0' with '0.0'"
                + " available."));
    PoolStatus s = manager.ensure(new PoolShape("nvidia-l4", 1, false), 0);
    assertThat(s).isInstanceOf(PoolStatus.WaitingForCapacity.class);
    PoolStatus.WaitingForCapacity w = (PoolStatus.WaitingForCapacity) s;
    assertThat(w.reason()).isEqualTo("QuotaExceeded");
    assertThat(w.message()).contains("NVIDIA_L4_GPUS").contains("Request a quota increase");
    assertThat(w.retryAfter()).isEqualTo(Duration.ofMinutes(5));
    assertThat(fake.pools()).isEmpty();
  }

  @Test
  void stockoutOnCreateBacksOffExponentially() {
    String text =
        "ZONE_RESOURCE_POOL_EXHAUSTED: The zone 'projects/proj/zones/us-central1-a' does not have"
            + " enough resources available to fulfill the request.";
    fake.failNextCreate(Status.RESOURCE_EXHAUSTED.withDescription(text));
    PoolStatus.WaitingForCapacity w =
        (PoolStatus.WaitingForCapacity)
            manager.ensure(new PoolShape("nvidia-h100-80gb", 8, false), 3);
    assertThat(w.reason()).isEqualTo("Stockout");
    assertThat(w.message()).contains("other zones").contains("spot");
    assertThat(w.retryAfter()).isEqualTo(Duration.ofMinutes(8));
  }

  @Test
  void stockoutReportedByTheOperationRecyclesThePool() {
    fake.failNextCreateOperation(
        Status.RESOURCE_EXHAUSTED.withDescription(
            "The zone does not have enough resources available to fulfill the request"));
    PoolShape shape = new PoolShape("nvidia-tesla-a100", 1, true);
    PoolStatus s = ensureUntilSettled(shape);
    assertThat(s).isInstanceOf(PoolStatus.WaitingForCapacity.class);
    assertThat(((PoolStatus.WaitingForCapacity) s).reason()).isEqualTo("Stockout");
    // The failed pool is being deleted; after that a new create starts and succeeds.
    assertThat(fake.deleteCalls()).isEqualTo(1);
    PoolStatus next = manager.ensure(shape);
    for (int i = 0; i < 10 && !(next instanceof PoolStatus.Ready); i++) {
      next = manager.ensure(shape);
    }
    assertThat(next).isEqualTo(new PoolStatus.Ready("ft-a100-x1-spot"));
    assertThat(fake.createCalls()).isEqualTo(2);
  }

  @Test
  void unavailableIsTransient() {
    fake.failNextCreate(Status.UNAVAILABLE.withDescription("try again"));
    PoolStatus.WaitingForCapacity w =
        (PoolStatus.WaitingForCapacity) manager.ensure(new PoolShape("nvidia-l4", 1, false), 1);
    assertThat(w.reason()).isEqualTo("Transient");
    assertThat(w.retryAfter()).isEqualTo(Duration.ofSeconds(20));
  }

  @Test
  void permissionDeniedFailsNamingThePermission() {
    fake.failNextCreate(
        Status.PERMISSION_DENIED.withDescription(
            "Required \"container.clusters.update\" permission(s)"));
    PoolStatus s = manager.ensure(new PoolShape("nvidia-l4", 1, false));
    assertThat(s).isInstanceOf(PoolStatus.Failed.class);
    assertThat(((PoolStatus.Failed) s).reason()).isEqualTo("PermissionDenied");
    assertThat(((PoolStatus.Failed) s).message())
        .contains("container.clusters.update on projects/")
        .contains("iam.serviceAccounts.actAs on the nodes' service account")
        .contains("docs/gcp-permissions.md")
        .doesNotContain("container.nodePools.");
  }

  @Test
  void invalidArgumentFails() {
    fake.failNextCreate(Status.INVALID_ARGUMENT.withDescription("Accelerator type not found"));
    PoolStatus s = manager.ensure(new PoolShape("nvidia-l4", 1, false));
    assertThat(s)
        .isEqualTo(
            new PoolStatus.Failed(
                "InvalidArgument",
                "GKE rejected the request while creating node pool ft-l4-x1 in"
                    + " projects/proj/locations/us-central1/clusters/train: INVALID_ARGUMENT:"
                    + " Accelerator type not found"));
  }

  @Test
  void deletesIdlePoolOnlyAfterTtl() {
    PoolShape shape = new PoolShape("nvidia-l4", 1, false);
    ensureUntilSettled(shape);
    Instant idle = Instant.parse("2026-01-01T10:00:00Z");
    Duration ttl = Duration.ofMinutes(30);

    assertThat(
            manager.deleteIfIdle(shape, true, idle, ttl, idle.plus(Duration.ofHours(2))).outcome())
        .isEqualTo(DeleteResult.Outcome.IN_USE);
    DeleteResult kept = manager.deleteIfIdle(shape, false, idle, ttl, idle.plusSeconds(600));
    assertThat(kept.outcome()).isEqualTo(DeleteResult.Outcome.KEPT);
    assertThat(kept.recheckAfter()).isEqualTo(Duration.ofMinutes(20));
    assertThat(fake.deleteCalls()).isZero();

    DeleteResult del = manager.deleteIfIdle(shape, false, idle, ttl, idle.plus(ttl));
    assertThat(del.outcome()).isEqualTo(DeleteResult.Outcome.DELETING);
    assertThat(manager.deleteIfIdle(shape, false, idle, ttl, idle.plus(ttl)).outcome())
        .isEqualTo(DeleteResult.Outcome.DELETING);
    fake.completeAllOperations();
    assertThat(fake.pools()).isEmpty();
    assertThat(manager.deleteIfIdle(shape, false, idle, ttl, idle.plus(ttl)).outcome())
        .isEqualTo(DeleteResult.Outcome.ABSENT);
    assertThat(fake.deleteCalls()).isEqualTo(1);
  }

  @Test
  void permissionDeniedOnDeleteNamesClustersUpdate() {
    PoolShape shape = new PoolShape("nvidia-l4", 1, false);
    ensureUntilSettled(shape);
    Instant idle = Instant.parse("2026-01-01T10:00:00Z");
    fake.failNext(FakeClusterManager.Rpc.DELETE, Status.PERMISSION_DENIED.withDescription("no"));
    DeleteResult r =
        manager.deleteIfIdle(shape, false, idle, Duration.ZERO, idle.plus(Duration.ofHours(1)));
    assertThat(r.outcome()).isEqualTo(DeleteResult.Outcome.ERROR);
    assertThat(r.message())
        .contains(
            "needs container.clusters.update on"
                + " projects/proj/locations/us-central1/clusters/train")
        .doesNotContain("container.nodePools.");
  }

  @Test
  void neverDeletesUnmanagedPoolsAndListsOnlyManagedOnes() {
    fake.putPool(
        CONFIG.clusterName(),
        NodePool.newBuilder()
            .setName("ft-l4-x1")
            .setStatus(NodePool.Status.RUNNING)
            .setConfig(NodeConfig.newBuilder().setMachineType("g2-standard-4"))
            .build());
    PoolShape managed = new PoolShape("nvidia-a100-80gb", 2, true);
    ensureUntilSettled(managed);

    Instant t = Instant.parse("2026-01-01T10:00:00Z");
    assertThat(
            manager
                .deleteIfIdle(new PoolShape("nvidia-l4", 1, false), false, t, Duration.ZERO, t)
                .outcome())
        .isEqualTo(DeleteResult.Outcome.NOT_MANAGED);
    assertThat(manager.listManagedPools())
        .containsExactly(new ManagedPool("ft-a100-80-x2-spot", managed, "RUNNING", 3));
  }

  @Test
  void permissionDeniedOnCreateNamesTheConfiguredNodeServiceAccount() throws Exception {
    GkeNodePoolManager withNodeSa =
        new GkeNodePoolManager(
            fake.client(),
            new GkeNodePoolConfig(
                "proj",
                "us-central1",
                "train",
                3,
                "LATEST",
                "gpu-nodes@proj.iam.gserviceaccount.com",
                List.of(),
                0));
    fake.failNextCreate(Status.PERMISSION_DENIED.withDescription("actAs denied"));
    PoolStatus s = withNodeSa.ensure(new PoolShape("nvidia-l4", 1, false));
    assertThat(((PoolStatus.Failed) s).message())
        .contains(
            "container.clusters.update on projects/proj/locations/us-central1/clusters/train and"
                + " iam.serviceAccounts.actAs on gpu-nodes@proj.iam.gserviceaccount.com");
  }

  @Test
  void transientReadErrorsAreReported() {
    fake.failNext(FakeClusterManager.Rpc.GET_POOL, Status.PERMISSION_DENIED.withDescription("no"));
    PoolStatus s = manager.ensure(new PoolShape("nvidia-l4", 1, false));
    assertThat(s).isInstanceOf(PoolStatus.Failed.class);
    assertThat(((PoolStatus.Failed) s).message())
        .contains("container.clusters.get")
        .doesNotContain("container.nodePools.");
  }

  @Test
  void scaleUpListener() {
    PoolShape shape = new PoolShape("nvidia-l4", 1, false);
    ensureUntilSettled(shape);
    List<Integer> scaled = new ArrayList<>();
    fake.onScaleUp((pool, n) -> scaled.add(n));
    fake.scaleUp("ft-l4-x1", 2);
    assertThat(scaled).containsExactly(2);
  }
}
