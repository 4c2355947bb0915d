package dev.finetune.operator.children;

import static org.assertj.core.api.Assertions.assertThat;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.operator.Fixtures;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * hardware.nodes above 1: an Indexed Job of that many pods and the headless Service naming them.
 */
class MultiNodeTrainerTest {
  static FineTuneJob job(String name, int nodes) {
    FineTuneJob ftj = Fixtures.job("team-a", name);
    ftj.getSpec().hardware.nodes = nodes;
    return ftj;
  }

  static Job desired(FineTuneJob ftj) {
    return TrainerJob.desired(
        ftj, "trainer:1", new TrainerJob.Placement("nvidia-l4", 2, true, null), 3, null, false);
  }

  static Map<String, String> env(Job job) {
    return job.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv().stream()
        .filter(e -> e.getValue() != null)
        .collect(Collectors.toMap(EnvVar::getName, EnvVar::getValue));
  }

  @Test
  void severalNodesRunAsOneIndexedJobWhosePodsAllRunAtOnce() {
    Job job = desired(job("llama", 4));
    assertThat(job.getSpec().getCompletionMode()).isEqualTo("Indexed");
    assertThat(job.getSpec().getCompletions()).isEqualTo(4);
    assertThat(job.getSpec().getParallelism()).isEqualTo(4);
    PodSpec pod = job.getSpec().getTemplate().getSpec();
    assertThat(pod.getSubdomain()).isEqualTo("llama-trainer");
    // Each pod still asks for hardware.count GPUs: the group has nodes x count.
    assertThat(pod.getContainers().get(0).getResources().getRequests())
        .containsEntry("nvidia.com/gpu", new Quantity("2"));
    assertThat(pod.getContainers().get(0).getPorts())
        .singleElement()
        .satisfies(p -> assertThat(p.getContainerPort()).isEqualTo(29500));
  }

  @Test
  void podsMeetAtTheIndexZeroPodsDnsName() {
    Map<String, String> env = env(desired(job("llama", 2)));
    assertThat(env)
        .containsEntry("FINETUNE_MASTER_ADDR", "llama-trainer-0.llama-trainer")
        .containsEntry("FINETUNE_MASTER_PORT", "29500")
        .containsEntry("FINETUNE_NNODES", "2");
    // The node rank is JOB_COMPLETION_INDEX, which Kubernetes sets in an Indexed Job's pods.
    assertThat(env).doesNotContainKey("JOB_COMPLETION_INDEX");
  }

  @Test
  void aPodStoppedWithItsGroupIsIgnoredLikeAPreemption() {
    var rules = desired(job("llama", 2)).getSpec().getPodFailurePolicy().getRules();
    assertThat(rules).hasSize(3);
    assertThat(rules.get(0).getOnPodConditions().get(0).getType()).isEqualTo("DisruptionTarget");
    assertThat(rules.get(1).getAction()).isEqualTo("FailJob");
    assertThat(rules.get(2).getAction()).isEqualTo("Ignore");
    assertThat(rules.get(2).getOnExitCodes().getValues()).containsExactly(75);
    assertThat(rules.get(2).getOnExitCodes().getContainerName()).isEqualTo("trainer");
  }

  @Test
  void oneNodeStaysAPlainJob() {
    for (Integer nodes : new Integer[] {null, 1}) {
      FineTuneJob ftj = Fixtures.job("team-a", "small");
      ftj.getSpec().hardware.nodes = nodes;
      Job job = desired(ftj);
      assertThat(job.getSpec().getCompletionMode()).isNull();
      assertThat(job.getSpec().getCompletions()).isNull();
      assertThat(job.getSpec().getTemplate().getSpec().getSubdomain()).isNull();
      assertThat(env(job)).doesNotContainKey("FINETUNE_MASTER_ADDR");
      assertThat(job.getSpec().getPodFailurePolicy().getRules()).hasSize(2);
    }
  }

  @Test
  void theHeadlessServiceSelectsTheTrainerPodsAndBelongsToTheJob() {
    FineTuneJob ftj = job("llama", 2);
    Service svc = TrainerService.desired(ftj);
    Job job = desired(ftj);
    assertThat(svc.getMetadata().getName()).isEqualTo("llama-trainer");
    assertThat(svc.getSpec().getClusterIP()).isEqualTo("None");
    assertThat(svc.getSpec().getPublishNotReadyAddresses()).isTrue();
    assertThat(svc.getSpec().getPorts())
        .singleElement()
        .satisfies(p -> assertThat(p.getPort()).isEqualTo(29500));
    // The selector matches the labels of the Job's pod template, and nothing the job does not own.
    assertThat(job.getSpec().getTemplate().getMetadata().getLabels())
        .containsAllEntriesOf(svc.getSpec().getSelector());
    assertThat(svc.getSpec().getSelector())
        .containsEntry("finetune.dev/job-name", "llama")
        .containsEntry("app.kubernetes.io/managed-by", "finetune-operator");
    assertThat(svc.getMetadata().getLabels())
        .containsEntry("app.kubernetes.io/component", "trainer");
    assertThat(svc.getMetadata().getOwnerReferences())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.getUid()).isEqualTo(ftj.getMetadata().getUid());
              assertThat(r.getController()).isTrue();
            });
    assertThat(Ownership.ownedBy(svc, ftj.getMetadata().getUid())).isTrue();
  }

  @Test
  void theServiceNameIsADnsLabelWhateverTheJobIsCalled() {
    assertThat(TrainerService.name(job("v1.2-run", 2))).isEqualTo("v1-2-run-trainer");
    assertThat(TrainerService.name(job("7b-run", 2))).isEqualTo("t7b-run-trainer");
    String longName = "a-very-long-fine-tune-job-name-that-goes-on-and-on-and-on-x";
    assertThat(TrainerService.name(job(longName, 2)))
        .hasSizeLessThanOrEqualTo(63)
        .matches("[a-z]([-a-z0-9]*[a-z0-9])?");
    assertThat(desired(job("7b-run", 2)).getSpec().getTemplate().getSpec().getSubdomain())
        .isEqualTo("t7b-run-trainer");
  }
}
