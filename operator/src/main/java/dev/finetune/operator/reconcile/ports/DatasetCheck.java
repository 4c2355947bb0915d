package dev.finetune.operator.reconcile.ports;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.DatasetStatus;

/** Validates a job's dataset before any GPU is requested. Never blocks: long reads run aside. */
public interface DatasetCheck {
  /** Stops the background work of this port (the operator is shutting down). */
  default void close() {}

  Outcome check(FineTuneJob job);

  /** Forget any work in flight for the job (it was deleted). */
  default void forget(FineTuneJob job) {}

  /** Result of one look. */
  sealed interface Outcome {}

  /** Still reading; look again later. */
  record Running(String message) implements Outcome {}

  record Valid(DatasetStatus stats) implements Outcome {}

  record Invalid(DatasetStatus stats, String reason, String message) implements Outcome {}

  /** This operator build cannot validate datasets. */
  record NotImplemented(String what) implements Outcome {}

  /** Not built: says so, never reports data as valid. */
  DatasetCheck NOT_IMPLEMENTED = job -> new NotImplemented("Dataset validation");
}
