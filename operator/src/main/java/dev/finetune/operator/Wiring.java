package dev.finetune.operator;

import dev.finetune.operator.reconcile.Flow;

/** Chooses the implementation of each outside system from the operator configuration. */
public final class Wiring {
  private Wiring() {}

  public static Flow.Ports ports(OperatorConfig config) {
    return Flow.Ports.notImplemented();
  }
}
