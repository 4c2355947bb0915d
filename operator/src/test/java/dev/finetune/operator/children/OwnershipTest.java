package dev.finetune.operator.children;

import static org.assertj.core.api.Assertions.assertThat;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.operator.Fixtures;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class OwnershipTest {
  final FineTuneJob ftj = withApi(Fixtures.job("team-a", "victim"));
  final Job trainer =
      new JobBuilder(
              TrainerJob.desired(
                  ftj, "img", new TrainerJob.Placement("nvidia-l4", 1, true, null), 3, null, false))
          .editMetadata()
          .withUid("job-uid")
          .endMetadata()
          .build();

  static FineTuneJob withApi(FineTuneJob j) {
    j.setApiVersion("finetune.dev/v1alpha1");
    j.setKind("FineTuneJob");
    return j;
  }

  Pod pod(String ns, String jobUid) {
    return new PodBuilder()
        .withNewMetadata()
        .withName("p")
        .withNamespace(ns)
        .withAnnotations(Map.of(Owners.OWNER_NAME, "victim", Owners.OWNER_NAMESPACE, "team-a"))
        .withOwnerReferences(
            new OwnerReferenceBuilder()
                .withApiVersion("batch/v1")
                .withKind("Job")
                .withName(trainer.getMetadata().getName())
                .withUid(jobUid)
                .withController(true)
                .build())
        .endMetadata()
        .build();
  }

  Optional<Job> lookup(ResourceID id) {
    return id.equals(new ResourceID(trainer.getMetadata().getName(), "team-a"))
        ? Optional.of(trainer)
        : Optional.empty();
  }

  @Test
  void aTrainerPodIsAttributedThroughItsJob() {
    assertThat(Ownership.podOwner(pod("team-a", "job-uid"), this::lookup))
        .containsExactly(new ResourceID("victim", "team-a"));
    assertThat(Ownership.podsOf(ftj, this::lookup, (ns, job) -> Stream.of(pod(ns, "job-uid"))))
        .containsExactly(new ResourceID("p", "team-a"));
  }

  @Test
  void annotationsAndNamesAreNotEnough() {
    assertThat(Ownership.podOwner(pod("team-b", "job-uid"), this::lookup)).isEmpty();
    assertThat(Ownership.podOwner(pod("team-a", "other-uid"), this::lookup)).isEmpty();
    Pod bare = pod("team-a", "job-uid");
    bare.getMetadata().setOwnerReferences(null);
    assertThat(Ownership.podOwner(bare, this::lookup)).isEmpty();
    assertThat(Ownership.podOf(pod("team-a", "other-uid"), trainer)).isFalse();
  }

  @Test
  void childrenBelongByUid() {
    FineTuneJob reborn = withApi(Fixtures.job("team-a", "victim"));
    reborn.getMetadata().setUid("new-uid");
    assertThat(Ownership.ownedBy(trainer, ftj.getMetadata().getUid())).isTrue();
    assertThat(Ownership.ownedBy(trainer, reborn.getMetadata().getUid())).isFalse();
    assertThat(Ownership.podsOf(reborn, this::lookup, (ns, job) -> Stream.of(pod(ns, "job-uid"))))
        .isEqualTo(Set.of());
    var foreign =
        new ConfigMapBuilder()
            .withNewMetadata()
            .withName("victim-trainer")
            .withNamespace("team-a")
            .endMetadata()
            .build();
    assertThat(Ownership.foreign(foreign, foreign, ftj))
        .get()
        .asString()
        .contains("ConfigMap team-a/victim-trainer");
    assertThat(Ownership.foreign(trainer, trainer, ftj)).isEmpty();
    assertThat(Ownership.foreign(null, trainer, ftj)).isEmpty();
  }
}
