package dev.finetune.operator.children;

import static org.assertj.core.api.Assertions.assertThat;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.operator.Fixtures;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The trainer Job with and without a Kueue LocalQueue (spec.queue). */
class TrainerJobQueueTest {
  static Job desired(FineTuneJob ftj) {
    return TrainerJob.desired(
        ftj, "trainer:1", new TrainerJob.Placement("nvidia-l4", 1, true, null), 3, null, false);
  }

  @Test
  void withAQueueTheJobIsCreatedSuspendedAndLabelledForKueue() {
    FineTuneJob ftj = Fixtures.job("team-a", "j");
    ftj.getSpec().queue = "gpu-queue";
    Job job = desired(ftj);
    assertThat(job.getSpec().getSuspend()).isTrue();
    assertThat(job.getMetadata().getLabels())
        .containsEntry("kueue.x-k8s.io/queue-name", "gpu-queue");
    assertThat(TrainerJob.suspended(job)).isTrue();
    // The pods are not Kueue's to manage (only the Job is).
    assertThat(job.getSpec().getTemplate().getMetadata().getLabels())
        .doesNotContainKey("kueue.x-k8s.io/queue-name");
  }

  @Test
  void withoutAQueueTheJobStartsAtOnceWithoutKueueLabels() {
    Job job = desired(Fixtures.job("team-a", "j"));
    assertThat(job.getSpec().getSuspend()).isNull();
    assertThat(TrainerJob.suspended(job)).isFalse();
    assertThat(job.getMetadata().getLabels()).doesNotContainKey("kueue.x-k8s.io/queue-name");
  }

  @Test
  void kueueLabelsOnTheFineTuneJobDoNotReachTheTrainerJob() {
    // A tenant label cannot put the trainer in (or out of) a queue behind spec.queue's back.
    FineTuneJob ftj = Fixtures.job("team-a", "j");
    ftj.getMetadata()
        .setLabels(Map.of("kueue.x-k8s.io/queue-name", "other-queue", "team", "search"));
    Job job = desired(ftj);
    assertThat(job.getSpec().getSuspend()).isNull();
    assertThat(job.getMetadata().getLabels())
        .doesNotContainKey("kueue.x-k8s.io/queue-name")
        .containsEntry("team", "search");
    assertThat(job.getSpec().getTemplate().getMetadata().getLabels())
        .doesNotContainKey("kueue.x-k8s.io/queue-name");

    ftj.getSpec().queue = "gpu-queue";
    assertThat(desired(ftj).getMetadata().getLabels())
        .containsEntry("kueue.x-k8s.io/queue-name", "gpu-queue");
  }
}
