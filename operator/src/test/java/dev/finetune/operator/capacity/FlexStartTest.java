package dev.finetune.operator.capacity;

import static org.assertj.core.api.Assertions.assertThat;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.HardwareSpec;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.children.TrainerJob;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplate;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FlexStartTest {
  static FineTuneJob ftj(HardwareSpec.Provisioning mode) {
    FineTuneJob ftj = Fixtures.job("team-a", "bot");
    ftj.getSpec().hardware.provisioning = mode;
    return ftj;
  }

  static Job trainer(FineTuneJob ftj, boolean spot) {
    return TrainerJob.desired(
        ftj, "trainer:1", new TrainerJob.Placement("nvidia-l4", 1, spot, null), 3, null, false);
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> spec(GenericKubernetesResource r) {
    return (Map<String, Object>) r.getAdditionalProperties().get("spec");
  }

  @Test
  void theRequestAsksForOneTrainerPodForAtMostMaxRuntime() {
    FineTuneJob ftj = ftj(HardwareSpec.Provisioning.FLEX_START);
    GenericKubernetesResource pr = FlexStart.provisioningRequest(ftj, 6 * 3600);
    assertThat(pr.getApiVersion()).isEqualTo("autoscaling.x-k8s.io/v1");
    assertThat(pr.getKind()).isEqualTo("ProvisioningRequest");
    assertThat(pr.getMetadata().getName()).isEqualTo("bot-trainer");
    assertThat(pr.getMetadata().getNamespace()).isEqualTo("team-a");
    assertThat(pr.getMetadata().getOwnerReferences().get(0).getUid())
        .isEqualTo(ftj.getMetadata().getUid());
    assertThat(pr.getMetadata().getOwnerReferences().get(0).getController()).isTrue();
    assertThat(spec(pr))
        .containsEntry("provisioningClassName", "queued-provisioning.gke.io")
        .containsEntry("parameters", Map.of("maxRunDurationSeconds", "21600"))
        .containsEntry(
            "podSets",
            List.of(Map.of("count", 1, "podTemplateRef", Map.of("name", "bot-trainer"))));
  }

  @Test
  void theTrainerJobIsSuspendedAndItsPodConsumesTheRequestOnQueuedFlexStartNodes() {
    FineTuneJob ftj = ftj(HardwareSpec.Provisioning.FLEX_START);
    Job job = CapacityPlacement.apply(ftj, trainer(ftj, true), null);
    assertThat(job.getSpec().getSuspend()).isTrue();
    assertThat(job.getSpec().getTemplate().getMetadata().getAnnotations())
        .containsEntry("autoscaling.x-k8s.io/consume-provisioning-request", "bot-trainer")
        .containsEntry(
            "autoscaling.x-k8s.io/provisioning-class-name", "queued-provisioning.gke.io");
    PodSpec pod = job.getSpec().getTemplate().getSpec();
    assertThat(pod.getNodeSelector())
        .isEqualTo(
            Map.of(
                "cloud.google.com/gke-accelerator", "nvidia-l4",
                "cloud.google.com/gke-flex-start", "true"));
    assertThat(pod.getTolerations())
        .anyMatch(
            t -> "cloud.google.com/gke-queued".equals(t.getKey()) && "true".equals(t.getValue()))
        .anyMatch(t -> "nvidia.com/gpu".equals(t.getKey()))
        .noneMatch(t -> "cloud.google.com/gke-spot".equals(t.getKey()));
    assertThat(pod.getAffinity()).isNull();

    PodTemplate template = FlexStart.podTemplate(ftj, job.getSpec().getTemplate());
    assertThat(template.getMetadata().getName()).isEqualTo("bot-trainer");
    assertThat(template.getTemplate().getSpec().getContainers().get(0).getImage())
        .isEqualTo("trainer:1");
  }

  @Test
  void aComputeClassPodSelectsItsClassAndLeavesSpotToIt() {
    FineTuneJob ftj = ftj(HardwareSpec.Provisioning.COMPUTE_CLASS);
    Job job = CapacityPlacement.apply(ftj, trainer(ftj, false), "finetune-nvidia-l4-x1");
    PodSpec pod = job.getSpec().getTemplate().getSpec();
    assertThat(job.getSpec().getSuspend()).isNull();
    assertThat(pod.getNodeSelector())
        .isEqualTo(Map.of("cloud.google.com/compute-class", "finetune-nvidia-l4-x1"));
    assertThat(pod.getAffinity()).isNull();
    assertThat(pod.getTolerations())
        .anyMatch(
            t ->
                "cloud.google.com/compute-class".equals(t.getKey())
                    && "finetune-nvidia-l4-x1".equals(t.getValue()))
        .anyMatch(t -> "cloud.google.com/gke-spot".equals(t.getKey()))
        .anyMatch(t -> "nvidia.com/gpu".equals(t.getKey()));
  }

  @Test
  void otherModesKeepTheJobAsRendered() {
    FineTuneJob ftj = ftj(HardwareSpec.Provisioning.EXISTING);
    Job before = trainer(ftj, true);
    assertThat(CapacityPlacement.apply(ftj, trainer(ftj, true), null)).isEqualTo(before);
  }

  static GenericKubernetesResource withConditions(Map<String, Object>... conditions) {
    GenericKubernetesResource pr =
        FlexStart.provisioningRequest(ftj(HardwareSpec.Provisioning.FLEX_START), 3600);
    pr.setAdditionalProperty("status", Map.of("conditions", List.of(conditions)));
    return pr;
  }

  static Map<String, Object> c(String type, String status, String message) {
    return Map.of("type", type, "status", status, "reason", type + "Reason", "message", message);
  }

  @Test
  void theRequestsConditionsSayWhetherToWaitRunOrFail() {
    assertThat(FlexStart.state(withConditions(), false))
        .isEqualTo(new FlexStart.Waiting("ProvisioningRequest bot-trainer is not accepted yet"));
    assertThat(
            FlexStart.state(
                withConditions(
                    c("Accepted", "True", "queued"),
                    c("Provisioned", "False", "waiting for 1 x nvidia-l4 in us-central1")),
                false))
        .isEqualTo(new FlexStart.Waiting("waiting for 1 x nvidia-l4 in us-central1"));
    assertThat(
            FlexStart.state(
                withConditions(c("Accepted", "True", "ok"), c("Provisioned", "True", "ready")),
                false))
        .isEqualTo(new FlexStart.Provisioned("ready"));
    assertThat(FlexStart.state(withConditions(c("Failed", "True", "no capacity")), false))
        .isEqualTo(new FlexStart.Ended("Failed", "no capacity"));
    assertThat(
            FlexStart.state(
                withConditions(
                    c("Provisioned", "True", "ok"), c("CapacityRevoked", "True", "gone")),
                true))
        .isEqualTo(new FlexStart.Ended("CapacityRevoked", "gone"));
    // Once the pod has started, the end of the booking is expected, not a failure.
    GenericKubernetesResource expired =
        withConditions(c("Provisioned", "True", "ok"), c("BookingExpired", "True", "expired"));
    assertThat(FlexStart.state(expired, true)).isEqualTo(new FlexStart.Provisioned("ok"));
    assertThat(FlexStart.state(expired, false))
        .isEqualTo(new FlexStart.Ended("BookingExpired", "expired"));
  }

  @Test
  void theNodesLabelsNameTheCapacity() {
    assertThat(NodeCapacity.of(Map.of("cloud.google.com/gke-spot", "true")))
        .isEqualTo(new NodeCapacity("spot", null));
    assertThat(NodeCapacity.of(Map.of("cloud.google.com/reservation-name", "team-a-l4")))
        .isEqualTo(new NodeCapacity("reservation", "team-a-l4"));
    assertThat(NodeCapacity.of(Map.of("cloud.google.com/gke-flex-start", "true")))
        .isEqualTo(new NodeCapacity("flex-start", null));
    assertThat(NodeCapacity.of(Map.of("cloud.google.com/gke-spot", "false")))
        .isEqualTo(new NodeCapacity("on-demand", null));
    assertThat(NodeCapacity.of(null)).isEqualTo(new NodeCapacity("on-demand", null));
  }
}
