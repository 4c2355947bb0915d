package dev.finetune.operator.reconcile;

import java.time.Duration;

/** What a step asks of the reconciler: go on at once, look again later, or stop. */
public sealed interface StepResult {
  /**
   * Progress was made: go on with the next step. With {@code persistFirst} the status is written
   * before anything else happens (it records something a restart must know, such as the grants
   * about to be made or the Job just created).
   */
  record Proceed(boolean persistFirst) implements StepResult {}

  /** Nothing to do until something changes or the delay passes. */
  record RequeueAfter(Duration delay) implements StepResult {}

  /** The job reached a terminal phase. */
  record Done() implements StepResult {}

  static StepResult proceed() {
    return new Proceed(false);
  }

  static StepResult persistThenProceed() {
    return new Proceed(true);
  }

  static StepResult requeueAfter(Duration delay) {
    return new RequeueAfter(delay);
  }

  static StepResult done() {
    return new Done();
  }
}
