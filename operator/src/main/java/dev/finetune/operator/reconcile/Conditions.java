package dev.finetune.operator.reconcile;

import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/** kstatus-style conditions. lastTransitionTime changes only when the status flips. */
public final class Conditions {
  public static final String DATASET_VALID = "DatasetValid";
  public static final String ACCELERATOR_SELECTED = "AcceleratorSelected";
  public static final String IDENTITY_BOUND = "IdentityBound";
  public static final String CAPACITY_READY = "CapacityReady";
  public static final String TRAINING_COMPLETE = "TrainingComplete";
  public static final String EVALUATION_COMPLETE = "EvaluationComplete";
  public static final String QUALITY_GATE_PASSED = "QualityGatePassed";
  public static final String READY = "Ready";

  /** kstatus: the controller is working towards the desired state (abnormal-true). */
  public static final String RECONCILING = "Reconciling";

  /** kstatus: the controller cannot make progress without help (abnormal-true). */
  public static final String STALLED = "Stalled";

  /** The job's IAM grants could not be released; the message says how to unblock it. */
  public static final String CLEANUP_BLOCKED = "CleanupBlocked";

  public static final String TRUE = "True";
  public static final String FALSE = "False";
  public static final String UNKNOWN = "Unknown";

  /** Reason for a step that this build of the operator cannot perform yet. */
  public static final String NOT_IMPLEMENTED = "NotImplemented";

  private Conditions() {}

  public static void set(
      FineTuneJobStatus status,
      String type,
      String value,
      String reason,
      String message,
      Long generation,
      Instant now) {
    Optional<Condition> existing = get(status, type);
    String transition =
        existing
            .filter(c -> Objects.equals(c.getStatus(), value))
            .map(Condition::getLastTransitionTime)
            .orElse(now.toString());
    Condition c =
        new ConditionBuilder()
            .withType(type)
            .withStatus(value)
            .withReason(reason)
            .withMessage(message)
            .withObservedGeneration(generation)
            .withLastTransitionTime(transition)
            .build();
    status.conditions.removeIf(x -> type.equals(x.getType()));
    status.conditions.add(c);
  }

  public static Optional<Condition> get(FineTuneJobStatus status, String type) {
    return status.conditions.stream().filter(c -> type.equals(c.getType())).findFirst();
  }

  public static boolean isTrue(FineTuneJobStatus status, String type) {
    return get(status, type).map(c -> TRUE.equals(c.getStatus())).orElse(false);
  }
}
