package dev.finetune.operator.reconcile.steps;

import static org.assertj.core.api.Assertions.assertThat;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Grant;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.OperatorConfig;
import dev.finetune.operator.reconcile.Conditions;
import dev.finetune.operator.reconcile.Flow;
import dev.finetune.operator.reconcile.JobContext;
import dev.finetune.operator.reconcile.StepResult;
import dev.finetune.operator.reconcile.ports.IdentityBinding;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ReleaseGrantsStepTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  static final Grant GRANT =
      new Grant("serviceAccount", "gsa@p.iam.gserviceaccount.com", "roles/x", "member:a");

  /** IAM answers whatever the test says next, and records what it was asked to remove. */
  static final class ScriptedIam implements IdentityBinding {
    IdentityBinding.Outcome next;
    final List<List<Grant>> released = new ArrayList<>();

    @Override
    public List<Grant> grants(FineTuneJob job, String ksaName) {
      return List.of(GRANT);
    }

    @Override
    public Outcome bind(FineTuneJob job, String ksaName, String allowed) {
      return new Bound("B", "b");
    }

    @Override
    public Outcome release(FineTuneJob job, List<Grant> grants) {
      released.add(List.copyOf(grants));
      return next;
    }
  }

  static FineTuneJobStatus finished() {
    FineTuneJobStatus s = new FineTuneJobStatus();
    s.phase = Phase.Succeeded;
    s.identity = new FineTuneJobStatus.IdentityStatus();
    s.identity.grants = new ArrayList<>(List.of(GRANT));
    return s;
  }

  static JobContext ctx(FineTuneJob job, FineTuneJobStatus s, Instant now) {
    return new JobContext(job, s, null, null, OperatorConfig.defaults(), now);
  }

  @Test
  void aFinishedJobWithGrantsHasTheReleaseAsItsNextStep() {
    ScriptedIam iam = new ScriptedIam();
    Flow flow = new Flow(withIdentity(iam));
    FineTuneJobStatus s = finished();
    assertThat(flow.next(s).orElseThrow().name()).isEqualTo("release-grants");
    iam.next = new IdentityBinding.Bound("Released", "ok");
    StepResult r = flow.next(s).orElseThrow().run(ctx(Fixtures.job("ns", "j"), s, T0));
    assertThat(r).isInstanceOf(StepResult.Done.class);
    assertThat(iam.released).containsExactly(List.of(GRANT));
    assertThat(ReleaseGrantsStep.pending(s)).isEmpty();
    assertThat(s.identity.releasedAt).isEqualTo(T0.toString());
    assertThat(flow.next(s)).isEmpty();
  }

  @Test
  void aReleaseThatFailsBlocksTheCleanupVisiblyInsteadOfDroppingTheGrants() {
    ScriptedIam iam = new ScriptedIam();
    iam.next = new IdentityBinding.Failed("PermissionDenied", "needs setIamPolicy");
    ReleaseGrantsStep step = new ReleaseGrantsStep(iam);
    FineTuneJob job = Fixtures.job("ns", "j");
    FineTuneJobStatus s = finished();
    StepResult r = step.run(ctx(job, s, T0));
    assertThat(r).isInstanceOf(StepResult.RequeueAfter.class);
    assertThat(ReleaseGrantsStep.pending(s)).containsExactly(GRANT);
    var c = Conditions.get(s, Conditions.CLEANUP_BLOCKED).orElseThrow();
    assertThat(c.getStatus()).isEqualTo("True");
    assertThat(c.getReason()).isEqualTo("PermissionDenied");
    assertThat(c.getMessage())
        .contains("needs setIamPolicy")
        .contains(ReleaseGrantsStep.SKIP_ANNOTATION + "=true");
    // The backoff grows with the time it has been blocked, up to five minutes.
    StepResult later = step.run(ctx(job, s, T0.plus(Duration.ofMinutes(2))));
    assertThat(((StepResult.RequeueAfter) later).delay()).isEqualTo(Duration.ofMinutes(2));
    StepResult much = step.run(ctx(job, s, T0.plus(Duration.ofHours(2))));
    assertThat(((StepResult.RequeueAfter) much).delay()).isEqualTo(Duration.ofMinutes(5));

    // IAM comes back: the grants go, the condition says so.
    iam.next = new IdentityBinding.Bound("Released", "ok");
    step.run(ctx(job, s, T0.plus(Duration.ofHours(3))));
    assertThat(ReleaseGrantsStep.pending(s)).isEmpty();
    assertThat(Conditions.get(s, Conditions.CLEANUP_BLOCKED).orElseThrow().getStatus())
        .isEqualTo("False");
  }

  @Test
  void theOverrideAnnotationLetsTheJobGoAndSaysWhatWasLeft() {
    ScriptedIam iam = new ScriptedIam();
    iam.next = new IdentityBinding.Retry("Transient", "unreachable", Duration.ofSeconds(15));
    ReleaseGrantsStep step = new ReleaseGrantsStep(iam);
    FineTuneJob job = Fixtures.job("ns", "j");
    job.getMetadata().setAnnotations(Map.of(ReleaseGrantsStep.SKIP_ANNOTATION, "true"));
    FineTuneJobStatus s = finished();
    assertThat(step.run(ctx(job, s, T0))).isInstanceOf(StepResult.Done.class);
    assertThat(iam.released).isEmpty();
    assertThat(ReleaseGrantsStep.pending(s)).isEmpty();
    var c = Conditions.get(s, Conditions.CLEANUP_BLOCKED).orElseThrow();
    assertThat(c.getReason()).isEqualTo("CleanupSkipped");
    assertThat(c.getMessage()).contains("member:a");
  }

  @Test
  void aReleaseWaitingForAnIamCallInFlightSetsNoCondition() {
    ScriptedIam iam = new ScriptedIam();
    iam.next =
        new IdentityBinding.Retry(IdentityBinding.IN_PROGRESS, "waiting", Duration.ofSeconds(1));
    FineTuneJobStatus s = finished();
    StepResult r = new ReleaseGrantsStep(iam).run(ctx(Fixtures.job("ns", "j"), s, T0));
    assertThat(((StepResult.RequeueAfter) r).delay()).isEqualTo(Duration.ofSeconds(1));
    assertThat(Conditions.get(s, Conditions.CLEANUP_BLOCKED)).isEmpty();
  }

  static Flow.Ports withIdentity(IdentityBinding identity) {
    Flow.Ports p = Flow.Ports.notImplemented();
    return new Flow.Ports(
        p.dataset(), p.sizing(), identity, p.capacity(), p.progress(), p.evaluation(), p.prices());
  }
}
