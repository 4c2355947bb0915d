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
}
