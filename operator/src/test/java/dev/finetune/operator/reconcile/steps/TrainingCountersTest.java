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

  static Pod exited(String uid, Instant start, Instant end, int code) {
    Pod p = pod(uid, "Failed", start, end, false);
    p.getStatus().getContainerStatuses().get(0).getState().getTerminated().setExitCode(code);
    return p;
  }

  @Test
  void aGroupOfNodesCountsEveryPodOnceAndAPeerStoppedPodIsNoFailure() {
    // Two nodes, 1 GPU each. Node 1 is preempted at 100 s; node 0 stops with it (exit 75).
    TrainingStatus t = new TrainingStatus();
    Pod n0 = exited("n0", T0, T0.plusSeconds(110), 75);
    Pod n1 = pod("n1", "Failed", T0, T0.plusSeconds(100), true);
    Pod n0b = pod("n0b", "Running", T0.plusSeconds(200), null, false);
    Pod n1b = pod("n1b", "Running", T0.plusSeconds(200), null, false);
    TrainingCounters.update(t, Set.of(n0, n1, n0b, n1b), 1, T0.plusSeconds(260));
    assertThat(t.attempts).isEqualTo(4);
    assertThat(t.preemptions).isEqualTo(1);
    assertThat(t.failures).isZero();
    assertThat(t.gpuSeconds).isEqualTo(210.0);
    // Cost counts the running pods of the group too: 2 pods x 60 s.
    assertThat(TrainingCounters.runningGpuSeconds(Set.of(n0, n1, n0b, n1b), 1, T0.plusSeconds(260)))
        .isEqualTo(120.0);

    // A pod that fails on its own is a failure.
    Pod broken = exited("n0c", T0.plusSeconds(300), T0.plusSeconds(310), 1);
    TrainingCounters.update(t, Set.of(n0b, n1b, broken), 1, T0.plusSeconds(320));
    assertThat(t.failures).isEqualTo(1);
  }
}
