package dev.finetune.operator.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.OperatorConfig;
import dev.finetune.operator.tenancy.StorageAllowList;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FlowTest {
  final Flow flow = new Flow(Flow.Ports.notImplemented());

  static JobContext ctx(FineTuneJob job, FineTuneJobStatus status) {
    return new JobContext(
        job,
        status,
        null,
        null,
        OperatorConfig.defaults(),
        Instant.parse("2026-01-01T00:00:00Z"),
        Map.of(StorageAllowList.ANNOTATION, "gs://ft-data/support/, gs://ft-out"));
  }

  @Test
  void aSpecOutsideTheNamespaceAllowListFailsBeforeTheStepRuns() {
    FineTuneJobStatus status = new FineTuneJobStatus();
    status.phase = Phase.Validating;
    FineTuneJob job = Fixtures.job("a", "b");
    job.getSpec().dataset.validation = "gs://ft-data/support/../other/eval.jsonl";
    StepResult r = flow.next(status).orElseThrow().run(ctx(job, status));
    assertThat(r).isInstanceOf(StepResult.Done.class);
    assertThat(status.phase).isEqualTo(Phase.Failed);
    var c = Conditions.get(status, Conditions.DATASET_VALID).orElseThrow();
    assertThat(c.getReason()).isEqualTo("NotAllowed");
    assertThat(c.getMessage())
        .contains("spec.dataset.validation")
        .contains("gs://ft-data/other/eval.jsonl")
        .contains(StorageAllowList.ANNOTATION);
    assertThat(Conditions.get(status, Conditions.READY).orElseThrow().getReason())
        .isEqualTo("NotAllowed");
  }

  @Test
  void aNewJobStartsByValidating() {
    FineTuneJobStatus status = new FineTuneJobStatus();
    FineTuneJob job = Fixtures.job("a", "b");
    StepResult r = flow.next(status).orElseThrow().run(ctx(job, status));
    assertThat(r).isInstanceOf(StepResult.Proceed.class);
    assertThat(status.phase).isEqualTo(Phase.Validating);
    assertThat(status.startTime).isEqualTo("2026-01-01T00:00:00Z");
  }

  @Test
  void withoutAValidatorTheJobWaitsAndSaysSo() {
    FineTuneJobStatus status = new FineTuneJobStatus();
    status.phase = Phase.Validating;
    FineTuneJob job = Fixtures.job("a", "b");
    StepResult r = flow.next(status).orElseThrow().run(ctx(job, status));
    assertThat(r).isInstanceOf(StepResult.RequeueAfter.class);
    assertThat(status.phase).isEqualTo(Phase.Validating);
    var c = Conditions.get(status, Conditions.DATASET_VALID).orElseThrow();
    assertThat(c.getStatus()).isEqualTo("Unknown");
    assertThat(c.getReason()).isEqualTo("NotImplemented");
    assertThat(c.getMessage()).contains("Dataset validation is not implemented");
  }

  @Test
  void provisioningGoesAcceleratorThenIdentityThenCapacity() {
    FineTuneJobStatus status = new FineTuneJobStatus();
    status.phase = Phase.Provisioning;
    assertThat(flow.next(status).orElseThrow().name()).isEqualTo("select-accelerator");
    Conditions.set(status, Conditions.ACCELERATOR_SELECTED, "True", "R", "m", 1L, Instant.now());
    assertThat(flow.next(status).orElseThrow().name()).isEqualTo("bind-identity");
    Conditions.set(status, Conditions.IDENTITY_BOUND, "True", "R", "m", 1L, Instant.now());
    assertThat(flow.next(status).orElseThrow().name()).isEqualTo("ensure-capacity");
  }

  @Test
  void aRequestedAcceleratorIsTakenAsIs() {
    FineTuneJobStatus status = new FineTuneJobStatus();
    status.phase = Phase.Provisioning;
    FineTuneJob job = Fixtures.job("a", "b");
    flow.next(status).orElseThrow().run(ctx(job, status));
    assertThat(status.hardware.accelerator).isEqualTo("nvidia-l4");
    assertThat(status.hardware.spot).isTrue();
    assertThat(Conditions.isTrue(status, Conditions.ACCELERATOR_SELECTED)).isTrue();
  }

  @Test
  void finishedJobsHaveNoNextStep() {
    FineTuneJobStatus status = new FineTuneJobStatus();
    status.phase = Phase.Succeeded;
    assertThat(flow.next(status)).isEmpty();
    status.phase = Phase.Failed;
    assertThat(flow.next(status)).isEmpty();
  }

  @Test
  void conditionTransitionTimeMovesOnlyWhenStatusFlips() {
    FineTuneJobStatus status = new FineTuneJobStatus();
    Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
    Conditions.set(status, "X", "False", "A", "a", 1L, t0);
    Conditions.set(status, "X", "False", "B", "b", 1L, t0.plusSeconds(60));
    assertThat(Conditions.get(status, "X").orElseThrow().getLastTransitionTime())
        .isEqualTo(t0.toString());
    Conditions.set(status, "X", "True", "C", "c", 1L, t0.plusSeconds(120));
    assertThat(Conditions.get(status, "X").orElseThrow().getLastTransitionTime())
        .isEqualTo(t0.plusSeconds(120).toString());
    assertThat(status.conditions).hasSize(1);
  }

  /** Evaluation whose scoring is started by begin() and done at once; counts both calls. */
  static final class CountingEvaluation
      implements dev.finetune.operator.reconcile.ports.Evaluation {
    int begun;
    int evaluated;

    @Override
    public void begin(FineTuneJob job, dev.finetune.operator.tenancy.JobJsonSchemas.Source schema) {
      begun++;
    }

    @Override
    public Outcome evaluate(FineTuneJob job) {
      evaluated++;
      var result = new FineTuneJobStatus.EvaluationStatus();
      result.examples = 1;
      return new Scored(
          result,
          null,
          null,
          null,
          new Artifacts("gs://o/adapter/", 10, "gs://o/manifest.json", 2));
    }
  }

  /** IAM whose release answers with the given outcomes in turn. */
  static dev.finetune.operator.reconcile.ports.IdentityBinding releasing(
      java.util.Deque<dev.finetune.operator.reconcile.ports.IdentityBinding.Outcome> outcomes) {
    return new dev.finetune.operator.reconcile.ports.IdentityBinding() {
      @Override
      public java.util.List<FineTuneJobStatus.Grant> grants(FineTuneJob job, String ksaName) {
        return java.util.List.of();
      }

      @Override
      public Outcome bind(FineTuneJob job, String ksaName, String allowedAnnotation) {
        throw new AssertionError("no bind while evaluating");
      }

      @Override
      public Outcome release(FineTuneJob job, java.util.List<FineTuneJobStatus.Grant> grants) {
        return outcomes.removeFirst();
      }
    };
  }

  static FineTuneJobStatus evaluatingWithGrants() {
    FineTuneJobStatus status = new FineTuneJobStatus();
    status.phase = Phase.Evaluating;
    status.identity = new FineTuneJobStatus.IdentityStatus();
    status.identity.grants =
        new java.util.ArrayList<>(
            java.util.List.of(
                new FineTuneJobStatus.Grant(
                    "serviceAccount",
                    "trainer@p.iam.gserviceaccount.com",
                    "roles/iam.workloadIdentityUser",
                    "serviceAccount:p.svc.id.goog[a/b]")));
    return status;
  }

  static Flow flow(
      dev.finetune.operator.reconcile.ports.IdentityBinding iam,
      dev.finetune.operator.reconcile.ports.Evaluation evaluation) {
    Flow.Ports none = Flow.Ports.notImplemented();
    return new Flow(
        new Flow.Ports(
            none.dataset(),
            none.sizing(),
            iam,
            none.capacity(),
            none.progress(),
            evaluation,
            none.prices()));
  }

  @Test
  void theTrainersGrantsGoBeforeTheScoresAreTakenSoTheJobFinishesInOneWrite() {
    var iam =
        new java.util.ArrayDeque<dev.finetune.operator.reconcile.ports.IdentityBinding.Outcome>(
            java.util.List.of(
                new dev.finetune.operator.reconcile.ports.IdentityBinding.Retry(
                    dev.finetune.operator.reconcile.ports.IdentityBinding.IN_PROGRESS,
                    "waiting for IAM",
                    java.time.Duration.ofSeconds(1)),
                new dev.finetune.operator.reconcile.ports.IdentityBinding.Bound(
                    "Released", "removed 1 IAM grant(s)")));
    CountingEvaluation evaluation = new CountingEvaluation();
    Flow f = flow(releasing(iam), evaluation);
    FineTuneJobStatus status = evaluatingWithGrants();
    FineTuneJob job = Fixtures.job("a", "b");

    // The IAM call is under way: the scoring is started, its result is not taken yet.
    StepResult first = f.next(status).orElseThrow().run(ctx(job, status));
    assertThat(first).isInstanceOf(StepResult.RequeueAfter.class);
    assertThat(status.phase).isEqualTo(Phase.Evaluating);
    assertThat(status.identity.grants).hasSize(1);
    assertThat(evaluation.begun).isEqualTo(1);
    assertThat(evaluation.evaluated).isZero();

    // Released: the same reconcile takes the scores and finishes the job.
    StepResult second = f.next(status).orElseThrow().run(ctx(job, status));
    assertThat(second).isInstanceOf(StepResult.Done.class);
    assertThat(status.phase).isEqualTo(Phase.Succeeded);
    assertThat(status.identity.grants).isNull();
    assertThat(status.identity.releasedAt).isNotNull();
    var bound = Conditions.get(status, Conditions.IDENTITY_BOUND).orElseThrow();
    assertThat(bound.getStatus()).isEqualTo("False");
    assertThat(bound.getReason()).isEqualTo("Released");
    assertThat(evaluation.evaluated).isEqualTo(1);
    assertThat(f.next(status)).isEmpty();
  }

  @Test
  void aBlockedReleaseDoesNotHoldUpTheScores() {
    var iam =
        new java.util.ArrayDeque<dev.finetune.operator.reconcile.ports.IdentityBinding.Outcome>(
            java.util.List.of(
                new dev.finetune.operator.reconcile.ports.IdentityBinding.Retry(
                    "IamError", "503 from IAM", java.time.Duration.ofSeconds(30))));
    CountingEvaluation evaluation = new CountingEvaluation();
    Flow f = flow(releasing(iam), evaluation);
    FineTuneJobStatus status = evaluatingWithGrants();
    FineTuneJob job = Fixtures.job("a", "b");

    f.next(status).orElseThrow().run(ctx(job, status));
    assertThat(Conditions.isTrue(status, Conditions.CLEANUP_BLOCKED)).isTrue();
    assertThat(status.phase).isEqualTo(Phase.Succeeded);
    assertThat(evaluation.evaluated).isEqualTo(1);
    // The grants are still recorded, so the finished job goes on releasing them.
    assertThat(status.identity.grants).hasSize(1);
    assertThat(f.next(status).orElseThrow().name()).isEqualTo("release-grants");
  }
}
