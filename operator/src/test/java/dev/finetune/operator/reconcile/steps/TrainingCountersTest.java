package dev.finetune.operator.reconcile.steps;

import static org.assertj.core.api.Assertions.assertThat;

import dev.finetune.api.v1alpha1.FineTuneJobStatus.TrainingStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.time.Instant;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TrainingCountersTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  static Pod pod(String uid, String phase, Instant start, Instant end, boolean preempted) {
    PodBuilder b =
        new PodBuilder()
            .withNewMetadata()
            .withName("p-" + uid)
            .withUid(uid)
            .endMetadata()
            .withNewStatus()
            .withPhase(phase)
            .withStartTime(start.toString())
            .endStatus();
    if (preempted) {
      b.editStatus()
          .addNewCondition()
          .withType("DisruptionTarget")
          .withStatus("True")
          .endCondition()
          .endStatus();
    }
    if (end != null) {
      b.editStatus()
          .addNewContainerStatus()
          .withName("trainer")
          .withNewState()
          .withNewTerminated()
          .withExitCode(143)
          .withFinishedAt(end.toString())
          .endTerminated()
          .endState()
          .endContainerStatus()
          .endStatus();
    }
    return b.build();
  }

  @Test
  void countersNeverGoDownWhenPreemptedPodsAreGarbageCollected() {
    TrainingStatus t = new TrainingStatus();
    Pod first = pod("a", "Running", T0, null, false);
    TrainingCounters.update(t, Set.of(first), 2, T0.plusSeconds(60));
    assertThat(t.attempts).isEqualTo(1);
    assertThat(t.gpuSeconds).isZero();

    // Preempted after 100 s on 2 GPUs; the Job starts a second pod.
    Pod firstEnded = pod("a", "Failed", T0, T0.plusSeconds(100), true);
    Pod second = pod("b", "Running", T0.plusSeconds(120), null, false);
    TrainingCounters.update(t, Set.of(firstEnded, second), 2, T0.plusSeconds(130));
    assertThat(t.attempts).isEqualTo(2);
    assertThat(t.preemptions).isEqualTo(1);
    assertThat(t.failures).isZero();
    assertThat(t.gpuSeconds).isEqualTo(200.0);

    // Looking again changes nothing.
    TrainingCounters.update(t, Set.of(firstEnded, second), 2, T0.plusSeconds(140));
    assertThat(t.attempts).isEqualTo(2);
    assertThat(t.preemptions).isEqualTo(1);
    assertThat(t.gpuSeconds).isEqualTo(200.0);

    // GKE deletes the preempted node; its pod is garbage-collected.
    TrainingCounters.update(t, Set.of(second), 2, T0.plusSeconds(150));
    assertThat(t.attempts).isEqualTo(2);
    assertThat(t.preemptions).isEqualTo(1);
    assertThat(t.gpuSeconds).isEqualTo(200.0);
    assertThat(t.countedPods).containsExactly("b@" + T0.plusSeconds(120).getEpochSecond());

    Pod secondDone = pod("b", "Succeeded", T0.plusSeconds(120), T0.plusSeconds(220), false);
    TrainingCounters.update(t, Set.of(secondDone), 2, T0.plusSeconds(230));
    assertThat(t.attempts).isEqualTo(2);
    assertThat(t.gpuSeconds).isEqualTo(400.0);
    assertThat(t.countedPods).containsExactly("b/ended");
  }

  @Test
  void aPodThatVanishesWhileRunningCountsAsPreemptedWithItsTimeSoFar() {
    TrainingStatus t = new TrainingStatus();
    TrainingCounters.update(t, Set.of(pod("a", "Running", T0, null, false)), 1, T0);
    TrainingCounters.update(t, Set.of(), 1, T0.plusSeconds(300));
    assertThat(t.attempts).isEqualTo(1);
    assertThat(t.preemptions).isEqualTo(1);
    assertThat(t.gpuSeconds).isEqualTo(300.0);
    assertThat(t.countedPods).isNull();
  }

  @Test
  void runningPodsAreAddedToTheCostButNotToTheCounters() {
    Pod running = pod("a", "Running", T0, null, false);
    assertThat(TrainingCounters.runningGpuSeconds(Set.of(running), 4, T0.plusSeconds(10)))
        .isEqualTo(40.0);
  }
}
