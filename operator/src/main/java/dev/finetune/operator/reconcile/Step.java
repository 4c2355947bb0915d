package dev.finetune.operator.reconcile;

/** One step of the FineTuneJob flow. A step never blocks: long work is polled by requeueing. */
public interface Step {
  /** The name used in logs and metrics. */
  String name();

  StepResult run(JobContext ctx);
}
