package dev.finetune.operator.reconcile.ports;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.operator.sizing.HubToken;

/** Picks the accelerator for hardware.accelerator: auto. */
public interface AcceleratorSizing {
  /** Stops the background work of this port (the operator is shutting down). */
  default void close() {}

  /**
   * @param token which Hugging Face token may read the job's model (resolved off the reconcile
   *     thread)
   */
  Outcome size(FineTuneJob job, HubToken.Resolver token);

  /**
   * For an accelerator named in the spec: whether its {@code count} GPUs hold the model as DDP
   * replicas or only sharded with FSDP ({@link Chosen} with the strategy), or not at all ({@link
   * Impossible}, saying what would fit). {@link NotImplemented} where the model's size cannot be
   * known here: the job then runs as DDP replicas, as asked.
   */
  default Outcome check(FineTuneJob job, HubToken.Resolver token) {
    return new NotImplemented("Checking the requested accelerator against the model size");
  }

  sealed interface Outcome {}

  /**
   * The choice.
   *
   * @param machineType the node's machine type, or null to leave it to the pool
   * @param reason why, with the memory estimate, for status.hardware.reason
   * @param strategy {@code ddp} (every GPU a full replica) or {@code fsdp} (weights sharded over
   *     the GPUs), for status.hardware.strategy and the trainer config
   */
  record Chosen(String accelerator, int count, String machineType, String reason, String strategy)
      implements Outcome {
    /** A DDP choice. */
    public Chosen(String accelerator, int count, String machineType, String reason) {
      this(accelerator, count, machineType, reason, "ddp");
    }
  }

  /** Still reading the model's config; look again later. */
  record Running(String message) implements Outcome {}

  record Impossible(String reason, String message) implements Outcome {}

  record NotImplemented(String what) implements Outcome {}

  AcceleratorSizing NOT_IMPLEMENTED =
      (job, token) ->
          new NotImplemented("Automatic accelerator sizing (hardware.accelerator: auto)");
}
