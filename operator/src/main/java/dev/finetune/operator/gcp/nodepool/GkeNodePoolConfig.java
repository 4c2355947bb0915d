package dev.finetune.operator.gcp.nodepool;

import java.util.List;
import java.util.Objects;

/**
 * Where and how managed pools are created.
 *
 * @param project GCP project id of the cluster
 * @param location cluster location (region or zone)
 * @param cluster cluster name
 * @param maxNodesPerPool autoscaling maximum per pool (minimum is always 0)
 * @param gpuDriverVersion {@code LATEST} or {@code DEFAULT}
 * @param nodeServiceAccount Google service account for the nodes; null uses the Compute Engine
 *     default
 * @param nodeLocations zones for the pool's nodes; empty uses the cluster's
 * @param diskSizeGb boot disk size
 * @param diskType boot disk type (pd-balanced, pd-ssd, ...); empty uses GKE's default
 * @param reservation reservation affinity of on-demand pools: empty for GKE's default, {@code
 *     none}, {@code any}, or the name of a specific reservation (Spot VMs never consume one)
 */
public record GkeNodePoolConfig(
    String project,
    String location,
    String cluster,
    int maxNodesPerPool,
    String gpuDriverVersion,
    String nodeServiceAccount,
    List<String> nodeLocations,
    int diskSizeGb,
    String diskType,
    String reservation) {

  public GkeNodePoolConfig(
      String project,
      String location,
      String cluster,
      int maxNodesPerPool,
      String gpuDriverVersion,
      String nodeServiceAccount,
      List<String> nodeLocations,
      int diskSizeGb) {
    this(
        project,
        location,
        cluster,
        maxNodesPerPool,
        gpuDriverVersion,
        nodeServiceAccount,
        nodeLocations,
        diskSizeGb,
        "",
        "");
  }

  public GkeNodePoolConfig {
    Objects.requireNonNull(project, "project");
    Objects.requireNonNull(location, "location");
    Objects.requireNonNull(cluster, "cluster");
    if (maxNodesPerPool < 1) {
      throw new IllegalArgumentException("maxNodesPerPool must be at least 1");
    }
    gpuDriverVersion = gpuDriverVersion == null ? "LATEST" : gpuDriverVersion;
    if (!List.of("LATEST", "DEFAULT", "INSTALLATION_DISABLED").contains(gpuDriverVersion)) {
      throw new IllegalArgumentException(
          "gpuDriverVersion must be LATEST, DEFAULT or INSTALLATION_DISABLED");
    }
    diskType = diskType == null ? "" : diskType;
    reservation = reservation == null ? "" : reservation;
    nodeLocations = nodeLocations == null ? List.of() : List.copyOf(nodeLocations);
    diskSizeGb = diskSizeGb <= 0 ? 200 : diskSizeGb;
  }

  public static GkeNodePoolConfig of(String project, String location, String cluster) {
    return new GkeNodePoolConfig(project, location, cluster, 4, "LATEST", null, List.of(), 200);
  }

  /** The cluster's coordinates with the node pool settings of the operator's configuration. */
  public static GkeNodePoolConfig of(
      String project,
      String location,
      String cluster,
      dev.finetune.operator.OperatorConfig.NodePools n) {
    return new GkeNodePoolConfig(
        project,
        location,
        cluster,
        n.maxNodes(),
        n.gpuDriverVersion(),
        n.serviceAccount().isEmpty() ? null : n.serviceAccount(),
        n.locations(),
        n.diskSizeGb(),
        n.diskType(),
        n.reservation());
  }

  /** {@code projects/P/locations/L/clusters/C} */
  public String clusterName() {
    return "projects/" + project + "/locations/" + location + "/clusters/" + cluster;
  }

  /** {@code projects/P/locations/L} */
  public String locationName() {
    return "projects/" + project + "/locations/" + location;
  }

  public String poolResourceName(String pool) {
    return clusterName() + "/nodePools/" + pool;
  }
}
