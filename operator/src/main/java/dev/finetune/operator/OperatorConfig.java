package dev.finetune.operator;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Operator settings. Read from environment variables (set from the operator's ConfigMap in {@code
 * deploy/}); every setting has a default that works for the local control plane.
 *
 * @param gcpProject GCP project id that owns the cluster (FINETUNE_GCP_PROJECT)
 * @param gcpProjectNumber GCP project number, for Workload Identity Federation principals
 * @param clusterLocation region or zone of the GKE cluster (FINETUNE_CLUSTER_LOCATION)
 * @param clusterName GKE cluster name (FINETUNE_CLUSTER_NAME)
 * @param trainerImage default trainer image (FINETUNE_TRAINER_IMAGE)
 * @param nodePoolIdleTtl how long an unused managed node pool is kept (FINETUNE_NODE_POOL_IDLE_TTL)
 * @param progressPollInterval how often progress.json is read while training
 * @param storageEmulatorHost Cloud Storage endpoint override, e.g. a local fake-gcs-server
 * @param namespaces namespaces to watch; empty means all
 * @param trainerBackoffLimit pod failures (not counting preemptions) before the Job fails
 * @param httpPort port of /metrics, /healthz and /readyz (0 picks a free port)
 * @param leaderElection whether to use a Lease so that only one replica reconciles
 * @param leaseNamespace namespace of the leader election Lease
 * @param iamMode gcp: the operator grants and removes IAM bindings; external: a platform team
 *     manages them and the operator only enforces the namespace policy (FINETUNE_IAM_MODE)
 * @param trainerAllowCpu local clusters only: the trainer may run on a GPU-shaped node that has no
 *     GPU, on CPU (FINETUNE_TRAINER_ALLOW_CPU, default false; without it a trainer that finds no
 *     CUDA fails)
 * @param nodePools how managed GKE node pools are created (FINETUNE_NODE_*)
 * @param trainerPod the trainer pod's resources, shared memory and grace period
 *     (FINETUNE_TRAINER_*)
 * @param priceOverrides GPU price overrides, keys like {@code nvidia-l4.gpu.spot} (FINETUNE_PRICES:
 *     {@code key=value} entries separated by commas or new lines)
 * @param computeClassPriorities what the ComputeClass of hardware.provisioning computeClass tries,
 *     in order (FINETUNE_COMPUTE_CLASS_PRIORITIES: comma separated {@code reservation:NAME}, {@code
 *     spot}, {@code on-demand}, {@code flex-start}; default {@code spot,on-demand,flex-start})
 * @see ConfigKeys for every key, its default and what it accepts
 */
public record OperatorConfig(
    String gcpProject,
    String gcpProjectNumber,
    String clusterLocation,
    String clusterName,
    String trainerImage,
    Duration nodePoolIdleTtl,
    Duration progressPollInterval,
    Optional<String> storageEmulatorHost,
    Set<String> namespaces,
    int trainerBackoffLimit,
    int httpPort,
    boolean leaderElection,
    String leaseNamespace,
    String iamMode,
    boolean trainerAllowCpu,
    NodePools nodePools,
    TrainerPod trainerPod,
    Map<String, String> priceOverrides,
    java.util.List<dev.finetune.operator.capacity.CapacityPriority> computeClassPriorities) {

  public static final String DEFAULT_TRAINER_IMAGE = "ghcr.io/finetune-dev/trainer:0.1.0";

  /**
   * Reads and validates the settings.
   *
   * @throws ConfigKeys.InvalidConfig naming every key with a bad value, and the value
   */
  public static OperatorConfig fromEnv(Map<String, String> env) {
    ConfigKeys.Reader r = new ConfigKeys.Reader(env);
    OperatorConfig config =
        new OperatorConfig(
            r.string("FINETUNE_GCP_PROJECT", "local-project"),
            r.string("FINETUNE_GCP_PROJECT_NUMBER", "0"),
            r.string("FINETUNE_CLUSTER_LOCATION", "us-central1"),
            r.string("FINETUNE_CLUSTER_NAME", "local"),
            r.string("FINETUNE_TRAINER_IMAGE", DEFAULT_TRAINER_IMAGE),
            r.duration("FINETUNE_NODE_POOL_IDLE_TTL", "PT30M", Duration.ZERO, null),
            r.duration("FINETUNE_PROGRESS_POLL_INTERVAL", "PT30S", Duration.ofMillis(100), null),
            Optional.ofNullable(env.get("STORAGE_EMULATOR_HOST")).filter(s -> !s.isBlank()),
            r.list("FINETUNE_NAMESPACES").stream()
                .collect(java.util.stream.Collectors.toUnmodifiableSet()),
            r.integer("FINETUNE_TRAINER_BACKOFF_LIMIT", 3, 0, 100),
            r.integer("FINETUNE_HTTP_PORT", 8080, 0, 65535),
            r.bool("FINETUNE_LEADER_ELECTION", true),
            r.string("FINETUNE_LEASE_NAMESPACE", "finetune-system"),
            r.oneOf("FINETUNE_IAM_MODE", "gcp", Set.of("gcp", "external")),
            r.bool("FINETUNE_TRAINER_ALLOW_CPU", false),
            NodePools.read(r),
            TrainerPod.read(r),
            r.prices("FINETUNE_PRICES"),
            r.priorities(
                "FINETUNE_COMPUTE_CLASS_PRIORITIES",
                dev.finetune.operator.capacity.CapacityPriority.DEFAULT));
    r.check();
    return config;
  }

  /**
   * How managed node pools are created.
   *
   * @param serviceAccount the nodes' Google service account (FINETUNE_NODE_SERVICE_ACCOUNT); empty
   *     uses the Compute Engine default
   * @param maxNodes autoscaling maximum per pool (FINETUNE_NODE_POOL_MAX_NODES, 1-1000, default 4)
   * @param locations zones of the pools' nodes (FINETUNE_NODE_LOCATIONS, comma separated); empty
   *     uses the cluster's
   * @param diskSizeGb boot disk size (FINETUNE_NODE_DISK_SIZE_GB, 10-65536, default 200)
   * @param diskType boot disk type (FINETUNE_NODE_DISK_TYPE: pd-balanced, pd-ssd, pd-standard,
   *     hyperdisk-balanced; default pd-balanced)
   * @param gpuDriverVersion GKE-installed driver (FINETUNE_GPU_DRIVER_VERSION: LATEST, DEFAULT or
   *     INSTALLATION_DISABLED; default LATEST)
   * @param reservation reservation affinity of on-demand pools (FINETUNE_NODE_RESERVATION: empty
   *     for GKE's default, {@code none}, {@code any}, or the name of a specific reservation)
   */
  public record NodePools(
      String serviceAccount,
      int maxNodes,
      java.util.List<String> locations,
      int diskSizeGb,
      String diskType,
      String gpuDriverVersion,
      String reservation) {

    static NodePools read(ConfigKeys.Reader r) {
      return new NodePools(
          r.matching(
              "FINETUNE_NODE_SERVICE_ACCOUNT",
              "",
              ConfigKeys.SERVICE_ACCOUNT,
              "a service account email such as nodes@PROJECT.iam.gserviceaccount.com"),
          r.integer("FINETUNE_NODE_POOL_MAX_NODES", 4, 1, 1000),
          r.listMatching("FINETUNE_NODE_LOCATIONS", ConfigKeys.ZONE, "zones such as us-central1-a"),
          r.integer("FINETUNE_NODE_DISK_SIZE_GB", 200, 10, 65536),
          r.oneOf(
              "FINETUNE_NODE_DISK_TYPE",
              "pd-balanced",
              Set.of("pd-balanced", "pd-ssd", "pd-standard", "hyperdisk-balanced")),
          r.oneOf(
              "FINETUNE_GPU_DRIVER_VERSION",
              "LATEST",
              Set.of("LATEST", "DEFAULT", "INSTALLATION_DISABLED")),
          r.matching(
              "FINETUNE_NODE_RESERVATION",
              "",
              ConfigKeys.RESERVATION,
              "none, any, or a reservation name (lower case letters, digits, hyphens)"));
    }
  }

  /**
   * The trainer pod.
   *
   * @param requests {@code machine}: CPU, memory and ephemeral-storage requests from the machine
   *     type's allocatable resources (see {@code children/MachineResources}); {@code none}: GPU
   *     only, for local nodes smaller than the machine they are labelled as
   *     (FINETUNE_TRAINER_REQUESTS)
   * @param gracePeriod time between SIGTERM and SIGKILL, for the trainer's checkpoint
   *     (FINETUNE_TRAINER_GRACE_PERIOD, 5s-1h, default PT25S: GKE gives spot nodes about 30 s)
   * @param shmSize size limit of /dev/shm (FINETUNE_TRAINER_SHM_SIZE, a quantity such as 8Gi);
   *     empty: a quarter of the memory request, at most 16Gi (1Gi without requests)
   */
  public record TrainerPod(String requests, Duration gracePeriod, String shmSize) {
    static TrainerPod read(ConfigKeys.Reader r) {
      return new TrainerPod(
          r.oneOf("FINETUNE_TRAINER_REQUESTS", "machine", Set.of("machine", "none")),
          r.duration(
              "FINETUNE_TRAINER_GRACE_PERIOD", "PT25S", Duration.ofSeconds(5), Duration.ofHours(1)),
          r.quantity("FINETUNE_TRAINER_SHM_SIZE"));
    }
  }

  public static OperatorConfig defaults() {
    return fromEnv(Map.of());
  }
}
