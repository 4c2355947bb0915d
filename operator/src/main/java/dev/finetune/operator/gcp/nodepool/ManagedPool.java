package dev.finetune.operator.gcp.nodepool;

/**
 * A node pool the operator manages.
 *
 * @param name GKE node pool name
 * @param shape the shape from the pool-shape label, or null when the label is missing or unknown
 * @param status GKE pool status, e.g. RUNNING, PROVISIONING, STOPPING, ERROR
 * @param maxNodes autoscaling maximum
 */
public record ManagedPool(String name, PoolShape shape, String status, int maxNodes) {}
