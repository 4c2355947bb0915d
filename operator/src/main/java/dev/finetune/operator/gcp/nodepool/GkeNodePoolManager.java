package dev.finetune.operator.gcp.nodepool;

import com.google.api.gax.core.FixedCredentialsProvider;
import com.google.api.gax.retrying.RetrySettings;
import com.google.api.gax.rpc.AlreadyExistsException;
import com.google.api.gax.rpc.ApiException;
import com.google.api.gax.rpc.NotFoundException;
import com.google.api.gax.rpc.StatusCode;
import com.google.auth.oauth2.GoogleCredentials;
import com.google.cloud.container.v1.ClusterManagerClient;
import com.google.cloud.container.v1.ClusterManagerSettings;
import com.google.container.v1.AcceleratorConfig;
import com.google.container.v1.CreateNodePoolRequest;
import com.google.container.v1.DeleteNodePoolRequest;
import com.google.container.v1.GPUDriverInstallationConfig;
import com.google.container.v1.GetNodePoolRequest;
import com.google.container.v1.ListNodePoolsRequest;
import com.google.container.v1.ListOperationsRequest;
import com.google.container.v1.NodeConfig;
import com.google.container.v1.NodePool;
import com.google.container.v1.NodePoolAutoscaling;
import com.google.container.v1.NodeTaint;
import com.google.container.v1.Operation;
import com.google.container.v1.ReservationAffinity;
import com.google.container.v1.WorkloadMetadataConfig;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@link NodePoolManager} over the GKE API ({@link ClusterManagerClient}). */
public class GkeNodePoolManager implements NodePoolManager, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(GkeNodePoolManager.class);

  public static final String MANAGED_BY_LABEL = "finetune.dev/managed-by";
  public static final String MANAGED_BY_VALUE = "finetune-operator";
  public static final String POOL_SHAPE_LABEL = "finetune.dev/pool-shape";
  public static final String GPU_TAINT_KEY = "nvidia.com/gpu";
  public static final String GPU_TAINT_VALUE = "present";
  public static final String CLOUD_PLATFORM_SCOPE =
      "https://www.googleapis.com/auth/cloud-platform";

  // The IAM permissions GKE checks (its API permissions reference): node pools have none of their
  // own; creating and deleting one updates the cluster, reading and listing reads it.
  static final String PERM_UPDATE = "container.clusters.update";
  static final String PERM_GET = "container.clusters.get";
  static final String PERM_OPS_LIST = "container.operations.list";
  static final String PERM_ACT_AS = "iam.serviceAccounts.actAs";

  /** Upper bound on one GKE call including retries. */
  public static final Duration CALL_DEADLINE = Duration.ofSeconds(15);

  private final ClusterManagerClient client;
  private final GkeNodePoolConfig config;
  private final boolean ownsClient;

  /** Uses {@code client} (not closed by {@link #close()}). */
  public GkeNodePoolManager(ClusterManagerClient client, GkeNodePoolConfig config) {
    this(client, config, false);
  }

  private GkeNodePoolManager(
      ClusterManagerClient client, GkeNodePoolConfig config, boolean ownsClient) {
    this.client = client;
    this.config = config;
    this.ownsClient = ownsClient;
  }

  /**
   * Creates a client with Application Default Credentials (Workload Identity in the cluster), with
   * short per-call deadlines so a reconcile never blocks long on GKE.
   */
  public static GkeNodePoolManager create(GkeNodePoolConfig config) throws IOException {
    ClusterManagerSettings.Builder settings =
        ClusterManagerSettings.newBuilder()
            .setCredentialsProvider(
                FixedCredentialsProvider.create(
                    GoogleCredentials.getApplicationDefault().createScoped(CLOUD_PLATFORM_SCOPE)));
    applyQuickDeadlines(settings);
    return new GkeNodePoolManager(ClusterManagerClient.create(settings.build()), config, true);
  }

  /**
   * Caps every unary call at {@link #CALL_DEADLINE} in total (retries of idempotent reads
   * included), keeping each reconcile step quick.
   */
  public static ClusterManagerSettings.Builder applyQuickDeadlines(
      ClusterManagerSettings.Builder settings) {
    settings.applyToAllUnaryMethods(
        b -> {
          RetrySettings r = b.getRetrySettings();
          b.setRetrySettings(
              r.toBuilder()
                  .setTotalTimeoutDuration(CALL_DEADLINE)
                  .setInitialRpcTimeoutDuration(CALL_DEADLINE)
                  .setMaxRpcTimeoutDuration(CALL_DEADLINE)
                  .build());
          return null;
        });
    return settings;
  }

  /**
   * What creating a pool needs: {@code container.clusters.update} on the cluster, and {@code
   * iam.serviceAccounts.actAs} on the service account its nodes run as (the Compute Engine default
   * one when none is configured), which GKE checks on every create.
   */
  String createPermissions() {
    String nodeSa =
        config.nodeServiceAccount() == null || config.nodeServiceAccount().isBlank()
            ? "the nodes' service account (the Compute Engine default"
                + " PROJECT_NUMBER-compute@developer.gserviceaccount.com when none is configured)"
            : config.nodeServiceAccount();
    return PERM_UPDATE + " on " + config.clusterName() + " and " + PERM_ACT_AS + " on " + nodeSa;
  }

  public GkeNodePoolConfig config() {
    return config;
  }

  @Override
  public PoolStatus ensure(PoolShape shape, int attempt) {
    String name = shape.poolName();
    String target = "creating node pool " + name + " in " + config.clusterName();
    Optional<NodePool> existing;
    try {
      existing = getPool(name);
    } catch (ApiException e) {
      return GkeErrors.map(e, PERM_GET, "reading node pool " + name, attempt);
    }
    if (existing.isPresent()) {
      return fromPool(existing.get(), target, attempt);
    }
    // No pool: a create may still be in flight (e.g. we restarted right after issuing it).
    try {
      Optional<Operation> op = latestOperation(name, Operation.Type.CREATE_NODE_POOL);
      if (op.isPresent() && !isDone(op.get())) {
        return new PoolStatus.Creating(name, op.get().getName());
      }
    } catch (ApiException e) {
      return GkeErrors.map(e, PERM_OPS_LIST, "listing operations for " + name, attempt);
    }
    try {
      Operation op =
          client.createNodePool(
              CreateNodePoolRequest.newBuilder()
                  .setParent(config.clusterName())
                  .setNodePool(poolSpec(shape))
                  .build());
      log.info(
          "Creating node pool {} ({} x{}, spot={}) operation {}",
          name,
          shape.machineType(),
          shape.gpusPerNode(),
          shape.spot(),
          op.getName());
      return new PoolStatus.Creating(name, op.getName());
    } catch (AlreadyExistsException e) {
      // Someone (or an earlier call of ours) created it meanwhile: that is success.
      log.info("Node pool {} already exists (created meanwhile); using it", name);
      try {
        return getPool(name)
            .map(p -> fromPool(p, target, attempt))
            .orElseGet(() -> new PoolStatus.Creating(name, ""));
      } catch (ApiException e2) {
        return GkeErrors.map(e2, PERM_GET, "reading node pool " + name, attempt);
      }
    } catch (ApiException e) {
      log.warn("Creating node pool {} failed: {}", name, e.getMessage());
      return GkeErrors.map(e, createPermissions(), target, attempt);
    }
  }

  private PoolStatus fromPool(NodePool pool, String target, int attempt) {
    String name = pool.getName();
    switch (pool.getStatus()) {
      case RUNNING, RUNNING_WITH_ERROR, RECONCILING:
        return new PoolStatus.Ready(name);
      case PROVISIONING:
        {
          String opId = "";
          try {
            opId =
                latestOperation(name, Operation.Type.CREATE_NODE_POOL)
                    .map(Operation::getName)
                    .orElse("");
          } catch (ApiException e) {
            log.debug("Could not list operations for {}: {}", name, e.getMessage());
          }
          return new PoolStatus.Creating(name, opId);
        }
      case STOPPING:
        return PoolStatus.waiting(
            "PoolDeleting",
            "Node pool " + name + " is being deleted; it will be recreated once deletion ends.",
            NodePoolManager.CREATING_POLL);
      case ERROR:
      default:
        {
          String message = pool.getStatusMessage();
          try {
            Optional<Operation> op = latestOperation(name, Operation.Type.CREATE_NODE_POOL);
            if (op.isPresent() && op.get().hasError() && op.get().getError().getCode() != 0) {
              com.google.rpc.Status err = op.get().getError();
              PoolStatus mapped =
                  GkeErrors.map(
                      StatusCode.Code.valueOf(
                          io.grpc.Status.fromCodeValue(err.getCode()).getCode().name()),
                      err.getMessage(),
                      createPermissions(),
                      target,
                      attempt);
              return recycleIfRetryable(pool, mapped);
            }
          } catch (ApiException e) {
            log.debug("Could not list operations for {}: {}", name, e.getMessage());
          }
          return recycleIfRetryable(
              pool,
              GkeErrors.mapMessage(
                  message.isEmpty() ? "node pool is in state " + pool.getStatus() : message,
                  target,
                  attempt));
        }
    }
  }

  /**
   * A pool left in ERROR by a stockout or quota failure is deleted so that a later {@link #ensure}
   * creates it afresh; the delete only starts an operation.
   */
  private PoolStatus recycleIfRetryable(NodePool pool, PoolStatus mapped) {
    if (mapped instanceof PoolStatus.WaitingForCapacity && isManaged(pool)) {
      try {
        client.deleteNodePool(
            DeleteNodePoolRequest.newBuilder()
                .setName(config.poolResourceName(pool.getName()))
                .build());
        log.info("Deleting failed node pool {} so it can be recreated", pool.getName());
      } catch (ApiException e) {
        log.warn("Could not delete failed node pool {}: {}", pool.getName(), e.getMessage());
      }
    }
    return mapped;
  }

  @Override
  public DeleteResult deleteIfIdle(
      PoolShape shape, boolean inUse, Instant idleSince, Duration ttl, Instant now) {
    String name = shape.poolName();
    if (inUse) {
      return new DeleteResult(DeleteResult.Outcome.IN_USE, null, name + " is in use");
    }
    Instant since = idleSince == null ? now : idleSince;
    Instant deadline = since.plus(ttl);
    if (now.isBefore(deadline)) {
      return new DeleteResult(
          DeleteResult.Outcome.KEPT,
          Duration.between(now, deadline),
          name + " idle since " + since + ", kept until " + deadline);
    }
    Optional<NodePool> pool;
    try {
      pool = getPool(name);
    } catch (ApiException e) {
      return new DeleteResult(
          DeleteResult.Outcome.ERROR,
          NodePoolManager.CREATING_POLL,
          "reading node pool " + name + " failed: " + GkeErrors.cleanMessage(e));
    }
    if (pool.isEmpty()) {
      return new DeleteResult(DeleteResult.Outcome.ABSENT, null, name + " does not exist");
    }
    if (!isManaged(pool.get())) {
      return new DeleteResult(
          DeleteResult.Outcome.NOT_MANAGED,
          null,
          name + " lacks label " + MANAGED_BY_LABEL + "=" + MANAGED_BY_VALUE + "; not deleting");
    }
    if (pool.get().getStatus() == NodePool.Status.STOPPING) {
      return new DeleteResult(
          DeleteResult.Outcome.DELETING, NodePoolManager.CREATING_POLL, name + " is being deleted");
    }
    try {
      Operation op =
          client.deleteNodePool(
              DeleteNodePoolRequest.newBuilder().setName(config.poolResourceName(name)).build());
      log.info(
          "Deleting idle node pool {} (idle since {}), operation {}", name, since, op.getName());
      return new DeleteResult(
          DeleteResult.Outcome.DELETING,
          NodePoolManager.CREATING_POLL,
          "deleting " + name + ", operation " + op.getName());
    } catch (NotFoundException e) {
      return new DeleteResult(DeleteResult.Outcome.ABSENT, null, name + " does not exist");
    } catch (ApiException e) {
      String perm =
          e.getStatusCode().getCode() == StatusCode.Code.PERMISSION_DENIED
              ? " (needs " + PERM_UPDATE + " on " + config.clusterName() + ")"
              : "";
      return new DeleteResult(
          DeleteResult.Outcome.ERROR,
          Duration.ofMinutes(1),
          "deleting " + name + " failed" + perm + ": " + GkeErrors.cleanMessage(e));
    }
  }

  @Override
  public List<ManagedPool> listManagedPools() {
    List<ManagedPool> out = new ArrayList<>();
    for (NodePool p :
        client
            .listNodePools(
                ListNodePoolsRequest.newBuilder().setParent(config.clusterName()).build())
            .getNodePoolsList()) {
      if (!isManaged(p)) {
        continue;
      }
      PoolShape shape = null;
      String label = p.getConfig().getLabelsOrDefault(POOL_SHAPE_LABEL, "");
      try {
        shape = label.isEmpty() ? null : PoolShape.fromLabelValue(label);
      } catch (IllegalArgumentException e) {
        log.debug("Pool {} has unknown shape label {}", p.getName(), label);
      }
      out.add(
          new ManagedPool(
              p.getName(), shape, p.getStatus().name(), p.getAutoscaling().getMaxNodeCount()));
    }
    return out;
  }

  /** The node pool GKE is asked to create for {@code shape}. */
  public NodePool poolSpec(PoolShape shape) {
    NodeConfig.Builder nc =
        NodeConfig.newBuilder()
            .setMachineType(shape.machineType())
            .setDiskSizeGb(config.diskSizeGb())
            .setSpot(shape.spot())
            .addAccelerators(
                AcceleratorConfig.newBuilder()
                    .setAcceleratorType(shape.accelerator())
                    .setAcceleratorCount(shape.gpusPerNode())
                    .setGpuDriverInstallationConfig(
                        GPUDriverInstallationConfig.newBuilder()
                            .setGpuDriverVersion(
                                GPUDriverInstallationConfig.GPUDriverVersion.valueOf(
                                    config.gpuDriverVersion()))))
            .addTaints(
                NodeTaint.newBuilder()
                    .setKey(GPU_TAINT_KEY)
                    .setValue(GPU_TAINT_VALUE)
                    .setEffect(NodeTaint.Effect.NO_SCHEDULE))
            .putLabels(MANAGED_BY_LABEL, MANAGED_BY_VALUE)
            .putLabels(POOL_SHAPE_LABEL, shape.labelValue())
            .setWorkloadMetadataConfig(
                WorkloadMetadataConfig.newBuilder()
                    .setMode(WorkloadMetadataConfig.Mode.GKE_METADATA))
            .addOauthScopes(CLOUD_PLATFORM_SCOPE);
    if (config.nodeServiceAccount() != null && !config.nodeServiceAccount().isBlank()) {
      nc.setServiceAccount(config.nodeServiceAccount());
    }
    if (!config.diskType().isEmpty()) {
      nc.setDiskType(config.diskType());
    }
    if (!config.reservation().isEmpty() && !shape.spot()) {
      nc.setReservationAffinity(reservationAffinity(config.reservation()));
    }
    NodePool.Builder pool =
        NodePool.newBuilder()
            .setName(shape.poolName())
            .setInitialNodeCount(0)
            .setConfig(nc)
            .setAutoscaling(
                NodePoolAutoscaling.newBuilder()
                    .setEnabled(true)
                    .setMinNodeCount(0)
                    .setMaxNodeCount(config.maxNodesPerPool()));
    pool.addAllLocations(config.nodeLocations());
    return pool.build();
  }

  /** none, any, or a specific reservation by name (compute.googleapis.com/reservation-name). */
  static ReservationAffinity reservationAffinity(String reservation) {
    return switch (reservation) {
      case "none" ->
          ReservationAffinity.newBuilder()
              .setConsumeReservationType(ReservationAffinity.Type.NO_RESERVATION)
              .build();
      case "any" ->
          ReservationAffinity.newBuilder()
              .setConsumeReservationType(ReservationAffinity.Type.ANY_RESERVATION)
              .build();
      default ->
          ReservationAffinity.newBuilder()
              .setConsumeReservationType(ReservationAffinity.Type.SPECIFIC_RESERVATION)
              .setKey("compute.googleapis.com/reservation-name")
              .addValues(reservation)
              .build();
    };
  }

  private Optional<NodePool> getPool(String name) {
    try {
      return Optional.of(
          client.getNodePool(
              GetNodePoolRequest.newBuilder().setName(config.poolResourceName(name)).build()));
    } catch (NotFoundException e) {
      return Optional.empty();
    }
  }

  /** The newest operation of {@code type} targeting pool {@code name}. */
  private Optional<Operation> latestOperation(String name, Operation.Type type) {
    String suffix = "/clusters/" + config.cluster() + "/nodePools/" + name;
    return client
        .listOperations(ListOperationsRequest.newBuilder().setParent(config.locationName()).build())
        .getOperationsList()
        .stream()
        .filter(o -> o.getOperationType() == type)
        .filter(o -> o.getTargetLink().endsWith(suffix))
        .max(Comparator.comparing(Operation::getStartTime).thenComparing(o -> isDone(o) ? 0 : 1));
  }

  private static boolean isDone(Operation op) {
    return op.getStatus() == Operation.Status.DONE;
  }

  static boolean isManaged(NodePool pool) {
    return MANAGED_BY_VALUE.equals(pool.getConfig().getLabelsOrDefault(MANAGED_BY_LABEL, ""));
  }

  @Override
  public void close() {
    if (ownsClient) {
      client.close();
    }
  }
}
