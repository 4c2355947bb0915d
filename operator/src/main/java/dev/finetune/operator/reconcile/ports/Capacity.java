package dev.finetune.operator.reconcile.ports;

import java.time.Duration;
import java.util.Set;

/** Managed GPU node pools (hardware.provisioning: managed). Each call is a few quick RPCs. */
public interface Capacity {
  /** Stops the background work of this port (the operator is shutting down). */
  default void close() {}

  /**
   * Makes sure the pool for this shape exists or is being created.
   *
   * @param attempt how many times this job has looked already, for backoff
   */
  Outcome ensure(String accelerator, int gpus, boolean spot, int attempt);

  /**
   * Deletes managed pools that no job uses and that have been idle longer than the TTL.
   *
   * @param inUse pool names that jobs still need
   */
  default void collectIdle(Set<String> inUse) {}

  /** What the last {@link #collectIdle} saw: managed pools, idle ones, the longest idle time. */
  default Pools pools() {
    return new Pools(0, 0, Duration.ZERO);
  }

  record Pools(int managed, int idle, Duration oldestIdle) {}

  sealed interface Outcome {}

  record Ready(String nodePool, String machineType) implements Outcome {}

  record Creating(String nodePool, String message) implements Outcome {}

  record Waiting(String reason, String message, Duration retryAfter) implements Outcome {}

  record Failed(String reason, String message) implements Outcome {}

  record NotImplemented(String what) implements Outcome {}

  Capacity NOT_IMPLEMENTED =
      (accelerator, gpus, spot, attempt) ->
          new NotImplemented("Managed GKE node pools (hardware.provisioning: managed)");
}
