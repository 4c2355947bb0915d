package dev.finetune.operator.children;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.ModelSpec;
import dev.finetune.operator.Fixtures;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TrainerJobTest {
  static Job desired(FineTuneJob ftj, TrainerJob.Placement placement) {
    return TrainerJob.desired(ftj, "trainer:1", placement, 3, null, false);
  }

  @Test
  void requestsTheGpusAndLandsOnlyOnTheAcceleratorAsked() {
    FineTuneJob ftj = Fixtures.job("team-a", "support-bot");
    Job job = desired(ftj, new TrainerJob.Placement("nvidia-tesla-a100", 4, false, null));
    PodSpec pod = job.getSpec().getTemplate().getSpec();
    Container c = pod.getContainers().get(0);
    assertThat(c.getResources().getLimits()).containsEntry("nvidia.com/gpu", new Quantity("4"));
    assertThat(c.getResources().getRequests()).containsEntry("nvidia.com/gpu", new Quantity("4"));
    assertThat(pod.getNodeSelector())
        .isEqualTo(Map.of("cloud.google.com/gke-accelerator", "nvidia-tesla-a100"));
    assertThat(pod.getTolerations())
        .anySatisfy(
            t -> {
              assertThat(t.getKey()).isEqualTo("nvidia.com/gpu");
              assertThat(t.getEffect()).isEqualTo("NoSchedule");
            });
    assertThat(pod.getTolerations()).noneMatch(t -> "cloud.google.com/gke-spot".equals(t.getKey()));
  }

  @Test
  void spotAndManagedPoolNarrowThePlacement() {
    Job job =
        desired(
            Fixtures.job("team-a", "j"),
            new TrainerJob.Placement("nvidia-l4", 1, true, "ft-l4-x1-spot"));
    PodSpec pod = job.getSpec().getTemplate().getSpec();
    assertThat(pod.getNodeSelector())
        .containsEntry("cloud.google.com/gke-spot", "true")
        .containsEntry("cloud.google.com/gke-nodepool", "ft-l4-x1-spot");
    assertThat(pod.getTolerations()).anyMatch(t -> "cloud.google.com/gke-spot".equals(t.getKey()));
  }

  @Test
  void preemptionIsIgnoredAndBadInputFailsAtOnce() {
    Job job =
        desired(Fixtures.job("team-a", "j"), new TrainerJob.Placement("nvidia-l4", 1, true, null));
    var rules = job.getSpec().getPodFailurePolicy().getRules();
    assertThat(rules.get(0).getAction()).isEqualTo("Ignore");
    assertThat(rules.get(0).getOnPodConditions().get(0).getType()).isEqualTo("DisruptionTarget");
    assertThat(rules.get(1).getAction()).isEqualTo("FailJob");
    assertThat(rules.get(1).getOnExitCodes().getValues()).containsExactly(2);
    assertThat(rules.get(1).getOnExitCodes().getContainerName()).isEqualTo("trainer");
    assertThat(job.getSpec().getTemplate().getSpec().getRestartPolicy()).isEqualTo("Never");
    assertThat(job.getSpec().getBackoffLimit()).isEqualTo(3);
    assertThat(job.getSpec().getActiveDeadlineSeconds()).isEqualTo(6 * 3600L);
  }

  @Test
  void runsRestrictedAsTheJobsOwnServiceAccount() {
    FineTuneJob ftj = Fixtures.job("team-a", "support-bot");
    Job job = desired(ftj, new TrainerJob.Placement("nvidia-l4", 1, true, null));
    PodSpec pod = job.getSpec().getTemplate().getSpec();
    assertThat(pod.getServiceAccountName()).isEqualTo("support-bot-trainer");
    assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
    assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
    var sc = pod.getContainers().get(0).getSecurityContext();
    assertThat(sc.getAllowPrivilegeEscalation()).isFalse();
    assertThat(sc.getReadOnlyRootFilesystem()).isTrue();
    assertThat(sc.getCapabilities().getDrop()).containsExactly("ALL");
    assertThat(job.getMetadata().getOwnerReferences())
        .singleElement()
        .satisfies(
            o -> {
              assertThat(o.getKind()).isEqualTo("FineTuneJob");
              assertThat(o.getController()).isTrue();
              assertThat(o.getUid()).isEqualTo(ftj.getMetadata().getUid());
            });
    assertThat(job.getMetadata().getLabels())
        .containsEntry("app.kubernetes.io/managed-by", "finetune-operator")
        .containsEntry("finetune.dev/job-name", "support-bot");
    assertThat(job.getSpec().getTemplate().getMetadata().getAnnotations())
        .containsEntry("finetune.dev/owner-name", "support-bot")
        .containsEntry("finetune.dev/owner-namespace", "team-a");
  }

  @Test
  void mountsTheConfigAndTheTokenSecretOnlyWhenGiven() {
    FineTuneJob ftj = Fixtures.job("team-a", "j");
    Job plain = desired(ftj, new TrainerJob.Placement("nvidia-l4", 1, true, null));
    assertThat(plain.getSpec().getTemplate().getSpec().getVolumes())
        .extracting(v -> v.getName())
        .contains("config")
        .doesNotContain("hf-token");
    ftj.getSpec().model.tokenSecretRef = new ModelSpec.SecretKeyRef();
    ftj.getSpec().model.tokenSecretRef.name = "hf";
    ftj.getSpec().model.tokenSecretRef.key = "hf_token";
    Job gated = desired(ftj, new TrainerJob.Placement("nvidia-l4", 1, true, null));
    var secret =
        gated.getSpec().getTemplate().getSpec().getVolumes().stream()
            .filter(v -> v.getName().equals("hf-token"))
            .findFirst()
            .orElseThrow()
            .getSecret();
    assertThat(secret.getSecretName()).isEqualTo("hf");
    assertThat(secret.getItems().get(0).getKey()).isEqualTo("hf_token");
  }

  @Test
  void longNamesAreShortenedDeterministically() {
    String longName = "a".repeat(120);
    FineTuneJob ftj = Fixtures.job("team-a", longName);
    String child = Labels.childName(ftj);
    assertThat(child.length()).isLessThanOrEqualTo(52);
    assertThat(child).isEqualTo(Labels.childName(Fixtures.job("team-a", longName)));
    assertThat(Labels.jobNameValue(ftj).length()).isLessThanOrEqualTo(63);
    assertThat(child).isNotEqualTo(Labels.childName(Fixtures.job("team-a", "a".repeat(119))));
  }

  @Test
  void durationsParseOrSayWhatIsWrong() {
    assertThat(Durations.parseSeconds("1h30m")).isEqualTo(5400);
    assertThat(Durations.parseSeconds("90m")).isEqualTo(5400);
    assertThat(Durations.parseSeconds("45s")).isEqualTo(45);
    assertThatThrownBy(() -> Durations.parseSeconds("1d")).hasMessageContaining("not a duration");
    assertThatThrownBy(() -> Durations.parseSeconds("0h")).hasMessageContaining("positive");
  }

  @Test
  void theCpuAllowanceReachesThePodOnlyWhenTheOperatorIsConfiguredForIt() {
    FineTuneJob ftj = Fixtures.job("team-a", "j");
    TrainerJob.Placement l4 = new TrainerJob.Placement("nvidia-l4", 1, true, null);
    var prod = TrainerJob.desired(ftj, "trainer:1", l4, 3, null, false);
    var local = TrainerJob.desired(ftj, "trainer:1", l4, 3, null, true);
    assertThat(prod.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv())
        .noneMatch(e -> e.getName().equals(TrainerJob.ALLOW_CPU_ENV));
    assertThat(local.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv())
        .anyMatch(e -> e.getName().equals(TrainerJob.ALLOW_CPU_ENV) && e.getValue().equals("true"));
    // The GPU request and placement are the production ones either way.
    assertThat(local.getSpec().getTemplate().getSpec().getNodeSelector())
        .isEqualTo(prod.getSpec().getTemplate().getSpec().getNodeSelector());
    assertThat(
            local
                .getSpec()
                .getTemplate()
                .getSpec()
                .getContainers()
                .get(0)
                .getResources()
                .getLimits())
        .containsKey(TrainerJob.GPU_RESOURCE);
  }

  @Test
  void requestsCpuMemoryAndDiskOfTheMachineAndSizesSharedMemory() {
    Job job =
        desired(Fixtures.job("team-a", "j"), new TrainerJob.Placement("nvidia-l4", 1, true, null));
    PodSpec pod = job.getSpec().getTemplate().getSpec();
    Container c = pod.getContainers().get(0);
    assertThat(c.getResources().getRequests())
        .containsEntry("cpu", new Quantity("3300m"))
        .containsEntry("memory", new Quantity("12032Mi"))
        .containsEntry("ephemeral-storage", new Quantity("51200Mi"));
    assertThat(c.getResources().getLimits())
        .containsEntry("memory", new Quantity("12032Mi"))
        .doesNotContainKey("cpu");
    var shm =
        pod.getVolumes().stream().filter(v -> v.getName().equals("dshm")).findFirst().orElseThrow();
    assertThat(shm.getEmptyDir().getMedium()).isEqualTo("Memory");
    assertThat(shm.getEmptyDir().getSizeLimit()).isEqualTo(new Quantity("3008Mi"));
    assertThat(pod.getTerminationGracePeriodSeconds()).isEqualTo(25L);
  }

  @Test
  void operatorSettingsChangeTheGracePeriodSharedMemoryAndRequests() {
    var settings =
        dev.finetune.operator.OperatorConfig.fromEnv(
            Map.of(
                "FINETUNE_TRAINER_GRACE_PERIOD", "PT90S",
                "FINETUNE_TRAINER_SHM_SIZE", "8Gi",
                "FINETUNE_TRAINER_REQUESTS", "none"));
    TrainerJob.Placement p = new TrainerJob.Placement("nvidia-l4", 1, true, null);
    Job job =
        TrainerJob.desired(
            Fixtures.job("team-a", "j"),
            "trainer:1",
            p,
            3,
            null,
            false,
            TrainerJob.PodSettings.of(p, settings.trainerPod(), 200));
    PodSpec pod = job.getSpec().getTemplate().getSpec();
    assertThat(pod.getTerminationGracePeriodSeconds()).isEqualTo(90L);
    assertThat(pod.getContainers().get(0).getResources().getRequests())
        .containsOnlyKeys("nvidia.com/gpu");
    assertThat(
            pod.getVolumes().stream()
                .filter(v -> v.getName().equals("dshm"))
                .findFirst()
                .orElseThrow()
                .getEmptyDir()
                .getSizeLimit())
        .isEqualTo(new Quantity("8Gi"));
  }

  @Test
  void onDemandJobsStayOffSpotNodes() {
    PodSpec onDemand =
        desired(Fixtures.job("team-a", "j"), new TrainerJob.Placement("nvidia-l4", 1, false, null))
            .getSpec()
            .getTemplate()
            .getSpec();
    var terms =
        onDemand
            .getAffinity()
            .getNodeAffinity()
            .getRequiredDuringSchedulingIgnoredDuringExecution()
            .getNodeSelectorTerms();
    assertThat(terms).hasSize(1);
    assertThat(terms.get(0).getMatchExpressions())
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.getKey()).isEqualTo("cloud.google.com/gke-spot");
              assertThat(e.getOperator()).isEqualTo("NotIn");
              assertThat(e.getValues()).containsExactly("true");
            });
    PodSpec spot =
        desired(Fixtures.job("team-a", "j"), new TrainerJob.Placement("nvidia-l4", 1, true, null))
            .getSpec()
            .getTemplate()
            .getSpec();
    assertThat(spot.getAffinity()).isNull();
    assertThat(spot.getNodeSelector()).containsEntry("cloud.google.com/gke-spot", "true");
  }
}
