package dev.finetune.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.container.v1.NodeConfig;
import com.google.container.v1.NodePool;
import com.google.container.v1.ReservationAffinity;
import dev.finetune.operator.gcp.nodepool.Accelerator;
import dev.finetune.operator.gcp.nodepool.FakeClusterManager;
import dev.finetune.operator.gcp.nodepool.GkeNodePoolConfig;
import dev.finetune.operator.gcp.nodepool.GkeNodePoolManager;
import dev.finetune.operator.gcp.nodepool.PoolShape;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The operator's ConfigMap: every key read, every bad value refused with its key and value. */
class OperatorConfigTest {

  private static final Map<String, String> NODE_POOLS =
      Map.of(
          "FINETUNE_NODE_SERVICE_ACCOUNT", "gpu-nodes@proj.iam.gserviceaccount.com",
          "FINETUNE_NODE_POOL_MAX_NODES", "7",
          "FINETUNE_NODE_LOCATIONS", "us-central1-a, us-central1-c",
          "FINETUNE_NODE_DISK_SIZE_GB", "300",
          "FINETUNE_NODE_DISK_TYPE", "pd-ssd",
          "FINETUNE_GPU_DRIVER_VERSION", "DEFAULT",
          "FINETUNE_NODE_RESERVATION", "l4-reserved");

  @Test
  void defaultsWorkForTheLocalControlPlane() {
    OperatorConfig c = OperatorConfig.defaults();
    assertThat(c.nodePools().maxNodes()).isEqualTo(4);
    assertThat(c.nodePools().diskSizeGb()).isEqualTo(200);
    assertThat(c.nodePools().gpuDriverVersion()).isEqualTo("LATEST");
    assertThat(c.nodePools().serviceAccount()).isEmpty();
    assertThat(c.nodePools().locations()).isEmpty();
    assertThat(c.trainerPod().gracePeriod()).isEqualTo(Duration.ofSeconds(25));
    assertThat(c.trainerPod().requests()).isEqualTo("machine");
    assertThat(c.priceOverrides()).isEmpty();
  }

  @Test
  void nodePoolSettingsAndPricesComeFromTheConfigMap() {
    Map<String, String> env = new java.util.HashMap<>(NODE_POOLS);
    env.put(
        "FINETUNE_PRICES",
        "nvidia-l4.gpu.spot=0.3\nnvidia-l4.vm.spot=0.1, price.nvidia-h100-80gb.gpu.ondemand=9");
    env.put("FINETUNE_TRAINER_GRACE_PERIOD", "PT45S");
    env.put("FINETUNE_TRAINER_SHM_SIZE", "8Gi");
    OperatorConfig c = OperatorConfig.fromEnv(env);
    assertThat(c.nodePools())
        .isEqualTo(
            new OperatorConfig.NodePools(
                "gpu-nodes@proj.iam.gserviceaccount.com",
                7,
                List.of("us-central1-a", "us-central1-c"),
                300,
                "pd-ssd",
                "DEFAULT",
                "l4-reserved"));
    assertThat(c.trainerPod().gracePeriod()).isEqualTo(Duration.ofSeconds(45));
    assertThat(c.trainerPod().shmSize()).isEqualTo("8Gi");
    var prices = Wiring.prices(c);
    assertThat(prices.price(Accelerator.NVIDIA_L4).gpuSpot()).isEqualTo(0.3);
    assertThat(prices.price(Accelerator.NVIDIA_L4).vmSpot()).isEqualTo(0.1);
    assertThat(prices.price(Accelerator.NVIDIA_H100_80GB).gpuOnDemand()).isEqualTo(9.0);
    assertThat(prices.hourly(Accelerator.NVIDIA_L4, 1, true)).isEqualTo(0.4, within());
  }

  private static org.assertj.core.data.Offset<Double> within() {
    return org.assertj.core.data.Offset.offset(1e-9);
  }

  @Test
  void everyBadValueIsNamedWithItsKey() {
    Map<String, String> env =
        Map.of(
            "FINETUNE_NODE_POOL_MAX_NODES", "0",
            "FINETUNE_NODE_DISK_SIZE_GB", "big",
            "FINETUNE_NODE_DISK_TYPE", "ssd",
            "FINETUNE_GPU_DRIVER_VERSION", "550",
            "FINETUNE_NODE_LOCATIONS", "us-central1-a,europe",
            "FINETUNE_NODE_SERVICE_ACCOUNT", "nodes",
            "FINETUNE_TRAINER_GRACE_PERIOD", "30s",
            "FINETUNE_PRICES", "nvidia-l4.gpu.spot=-1,nvidia-x9.gpu.spot=1,l4=2",
            "FINETUNE_NODE_POOL_IDLE_TTL", "30m",
            "FINETUNE_LEADER_ELECTION", "yes");
    assertThatThrownBy(() -> OperatorConfig.fromEnv(env))
        .isInstanceOf(ConfigKeys.InvalidConfig.class)
        .satisfies(
            e -> {
              List<String> p = ((ConfigKeys.InvalidConfig) e).problems();
              assertThat(p)
                  .anySatisfy(s -> assertThat(s).startsWith("FINETUNE_NODE_POOL_MAX_NODES=\"0\""))
                  .anySatisfy(s -> assertThat(s).startsWith("FINETUNE_NODE_DISK_SIZE_GB=\"big\""))
                  .anySatisfy(
                      s ->
                          assertThat(s)
                              .startsWith("FINETUNE_NODE_DISK_TYPE=\"ssd\"")
                              .contains("pd-balanced"))
                  .anySatisfy(s -> assertThat(s).startsWith("FINETUNE_GPU_DRIVER_VERSION=\"550\""))
                  .anySatisfy(
                      s ->
                          assertThat(s)
                              .startsWith("FINETUNE_NODE_LOCATIONS=")
                              .endsWith("not: europe"))
                  .anySatisfy(
                      s -> assertThat(s).startsWith("FINETUNE_NODE_SERVICE_ACCOUNT=\"nodes\""))
                  .anySatisfy(
                      s -> assertThat(s).startsWith("FINETUNE_TRAINER_GRACE_PERIOD=\"30s\""))
                  .anySatisfy(
                      s -> assertThat(s).startsWith("FINETUNE_PRICES=\"nvidia-l4.gpu.spot=-1\""))
                  .anySatisfy(
                      s ->
                          assertThat(s)
                              .startsWith("FINETUNE_PRICES=\"nvidia-x9.gpu.spot=1\"")
                              .contains("unknown accelerator nvidia-x9"))
                  .anySatisfy(s -> assertThat(s).startsWith("FINETUNE_PRICES=\"l4=2\""))
                  .anySatisfy(s -> assertThat(s).startsWith("FINETUNE_NODE_POOL_IDLE_TTL=\"30m\""))
                  .anySatisfy(s -> assertThat(s).startsWith("FINETUNE_LEADER_ELECTION=\"yes\""))
                  .hasSize(12);
            });
  }

  /** The real GKE client, against the local stand-in, sends what the ConfigMap says. */
  @Test
  void gkeReceivesTheConfiguredNodePoolSettings() throws Exception {
    OperatorConfig c = OperatorConfig.fromEnv(NODE_POOLS);
    try (FakeClusterManager gke = FakeClusterManager.start()) {
      GkeNodePoolManager manager =
          new GkeNodePoolManager(
              gke.client(), GkeNodePoolConfig.of("proj", "us-central1", "train", c.nodePools()));
      manager.ensure(new PoolShape("nvidia-l4", 1, false));
      manager.ensure(new PoolShape("nvidia-l4", 1, true));
      gke.completeAllOperations();
      NodePool onDemand =
          gke.pools().get("projects/proj/locations/us-central1/clusters/train/nodePools/ft-l4-x1");
      NodePool spot =
          gke.pools()
              .get("projects/proj/locations/us-central1/clusters/train/nodePools/ft-l4-x1-spot");
      assertThat(onDemand.getAutoscaling().getMaxNodeCount()).isEqualTo(7);
      assertThat(onDemand.getLocationsList()).containsExactly("us-central1-a", "us-central1-c");
      NodeConfig nc = onDemand.getConfig();
      assertThat(nc.getServiceAccount()).isEqualTo("gpu-nodes@proj.iam.gserviceaccount.com");
      assertThat(nc.getDiskSizeGb()).isEqualTo(300);
      assertThat(nc.getDiskType()).isEqualTo("pd-ssd");
      assertThat(nc.getAccelerators(0).getGpuDriverInstallationConfig().getGpuDriverVersion())
          .hasToString("DEFAULT");
      assertThat(nc.getReservationAffinity().getConsumeReservationType())
          .isEqualTo(ReservationAffinity.Type.SPECIFIC_RESERVATION);
      assertThat(nc.getReservationAffinity().getKey())
          .isEqualTo("compute.googleapis.com/reservation-name");
      assertThat(nc.getReservationAffinity().getValuesList()).containsExactly("l4-reserved");
      // Spot VMs cannot consume a reservation: the spot pool asks for none of it.
      assertThat(spot.getConfig().hasReservationAffinity()).isFalse();
      assertThat(spot.getConfig().getDiskType()).isEqualTo("pd-ssd");
    }
  }
}
