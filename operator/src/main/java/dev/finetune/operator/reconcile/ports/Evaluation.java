package dev.finetune.operator.reconcile.ports;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.EvaluationStatus;
import dev.finetune.operator.tenancy.JobJsonSchemas;

/** Scores baseline and tuned predictions with ROUGE and applies the gate. */
public interface Evaluation {
  /** Stops the background work of this port (the operator is shutting down). */
  default void close() {}

  Outcome evaluate(FineTuneJob job);

  /**
   * As {@link #evaluate(FineTuneJob)}, with the job's JSON Schema for the {@code jsonSchema} metric
   * (read only when that metric is asked for).
   */
  default Outcome evaluate(FineTuneJob job, JobJsonSchemas.Source schema) {
    return evaluate(job);
  }

  /** Starts the scoring without waiting for it; {@link #evaluate} then returns its result. */
  default void begin(FineTuneJob job, JobJsonSchemas.Source schema) {}

  default void forget(FineTuneJob job) {}

  sealed interface Outcome {}

  record Running(String message) implements Outcome {}

  /**
   * Scores computed.
   *
   * @param gatePassed null when no gate is configured
   * @param notes what a person should know about the data scored (missing ids), or null
   * @param artifacts the adapter and manifest found in the output prefix
   */
  record Scored(
      EvaluationStatus result,
      Boolean gatePassed,
      String gateMessage,
      String notes,
      Artifacts artifacts)
      implements Outcome {}

  /** The trainer's results that exist in the output prefix, with their sizes in bytes. */
  record Artifacts(String adapterUri, long adapterBytes, String manifestUri, long manifestBytes) {}

  record Invalid(String reason, String message) implements Outcome {}

  record NotImplemented(String what) implements Outcome {}

  Evaluation NOT_IMPLEMENTED = job -> new NotImplemented("ROUGE evaluation of predictions");
}
