package dev.finetune.operator.reconcile.ports;

import dev.finetune.api.v1alpha1.FineTuneJob;

/** Picks the accelerator for hardware.accelerator: auto. */
public interface AcceleratorSizing {
  Outcome size(FineTuneJob job);

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
      job -> new NotImplemented("Automatic accelerator sizing (hardware.accelerator: auto)");
}
