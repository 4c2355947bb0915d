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

  sealed interface Outcome {}

  /**
   * The choice.
   *
   * @param reason why, with the memory estimate, for status.hardware.reason
   */
  record Chosen(String accelerator, int count, String machineType, String reason)
      implements Outcome {}

  /** Still reading the model's config; look again later. */
  record Running(String message) implements Outcome {}

  record Impossible(String reason, String message) implements Outcome {}

  record NotImplemented(String what) implements Outcome {}

  AcceleratorSizing NOT_IMPLEMENTED =
      (job, token) ->
          new NotImplemented("Automatic accelerator sizing (hardware.accelerator: auto)");
}
