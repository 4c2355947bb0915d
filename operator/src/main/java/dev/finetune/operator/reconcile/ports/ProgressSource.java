package dev.finetune.operator.reconcile.ports;

import dev.finetune.api.v1alpha1.FineTuneJob;
import java.util.Optional;

/** Reads the trainer's progress.json. */
public interface ProgressSource {
  /** Stops the background work of this port (the operator is shutting down). */
  default void close() {}

  /** The newest progress, if the trainer wrote any yet. Runs aside; returns what it last read. */
  Optional<Progress> latest(FineTuneJob job);

  default void forget(FineTuneJob job) {}

  /** progress.json as the trainer contract defines it. */
  record Progress(
      Long step,
      Long totalSteps,
      Double epoch,
      Double loss,
      Double evalLoss,
      Double tokensPerSecond,
      String updatedAt,
      String lastCheckpoint) {}

  ProgressSource NONE = job -> Optional.empty();
}
