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
    boolean trainerAllowCpu) {

  public static final String DEFAULT_TRAINER_IMAGE = "ghcr.io/finetune-dev/trainer:0.1.0";

  public static OperatorConfig fromEnv(Map<String, String> env) {
    return new OperatorConfig(
        env.getOrDefault("FINETUNE_GCP_PROJECT", "local-project"),
        env.getOrDefault("FINETUNE_GCP_PROJECT_NUMBER", "0"),
        env.getOrDefault("FINETUNE_CLUSTER_LOCATION", "us-central1"),
        env.getOrDefault("FINETUNE_CLUSTER_NAME", "local"),
        env.getOrDefault("FINETUNE_TRAINER_IMAGE", DEFAULT_TRAINER_IMAGE),
        Duration.parse(env.getOrDefault("FINETUNE_NODE_POOL_IDLE_TTL", "PT30M")),
        Duration.parse(env.getOrDefault("FINETUNE_PROGRESS_POLL_INTERVAL", "PT30S")),
        Optional.ofNullable(env.get("STORAGE_EMULATOR_HOST")).filter(s -> !s.isBlank()),
        java.util.Arrays.stream(env.getOrDefault("FINETUNE_NAMESPACES", "").split(","))
            .map(String::trim)
            .filter(s -> !s.isEmpty())
            .collect(java.util.stream.Collectors.toUnmodifiableSet()),
        Integer.parseInt(env.getOrDefault("FINETUNE_TRAINER_BACKOFF_LIMIT", "3")),
        Integer.parseInt(env.getOrDefault("FINETUNE_HTTP_PORT", "8080")),
        Boolean.parseBoolean(env.getOrDefault("FINETUNE_LEADER_ELECTION", "true")),
        env.getOrDefault("FINETUNE_LEASE_NAMESPACE", "finetune-system"),
        env.getOrDefault("FINETUNE_IAM_MODE", "gcp"),
        Boolean.parseBoolean(env.getOrDefault("FINETUNE_TRAINER_ALLOW_CPU", "false")));
  }

  public static OperatorConfig defaults() {
    return fromEnv(Map.of());
  }
}
