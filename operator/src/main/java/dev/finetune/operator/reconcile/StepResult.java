package dev.finetune.operator.reconcile;

import java.time.Duration;

/** What a step asks of the reconciler: go on at once, look again later, or stop. */
public sealed interface StepResult {
  /** Progress was made: reconcile again right away for the next step. */
  record Proceed() implements StepResult {}

  /** Nothing to do until something changes or the delay passes. */
  record RequeueAfter(Duration delay) implements StepResult {}

  /** The job reached a terminal phase. */
  record Done() implements StepResult {}

  static StepResult proceed() {
    return new Proceed();
  }

  static StepResult requeueAfter(Duration delay) {
    return new RequeueAfter(delay);
  }

  static StepResult done() {
    return new Done();
  }
}
