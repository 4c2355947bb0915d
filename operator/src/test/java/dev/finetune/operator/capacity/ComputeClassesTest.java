package dev.finetune.operator.capacity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.finetune.operator.ConfigKeys;
import dev.finetune.operator.OperatorConfig;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ComputeClassesTest {
  static final List<CapacityPriority> ALL =
      CapacityPriority.parseList("reservation:team-a-l4, spot, on-demand, flex-start");

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> priorities(GenericKubernetesResource cc) {
    return (List<Map<String, Object>>) spec(cc).get("priorities");
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> spec(GenericKubernetesResource cc) {
    return (Map<String, Object>) cc.getAdditionalProperties().get("spec");
  }

  @Test
  void oneRulePerPriorityInTheAdminsOrderForTheJobsShape() {
    GenericKubernetesResource cc = ComputeClasses.desired("nvidia-l4", 2, ALL, "LATEST");
    assertThat(cc.getApiVersion()).isEqualTo("cloud.google.com/v1");
    assertThat(cc.getKind()).isEqualTo("ComputeClass");
    assertThat(cc.getMetadata().getName()).isEqualTo("finetune-nvidia-l4-x2");
    assertThat(cc.getMetadata().getNamespace()).isNull();
    assertThat(cc.getMetadata().getLabels())
        .containsEntry("app.kubernetes.io/managed-by", "finetune-operator");
    assertThat(spec(cc))
        .containsEntry("nodePoolAutoCreation", Map.of("enabled", true))
        .containsEntry("whenUnsatisfiable", "DoNotScaleUp");
    List<Map<String, Object>> rules = priorities(cc);
    assertThat(rules).hasSize(4);
    for (Map<String, Object> r : rules) {
      assertThat(r)
          .containsEntry("gpu", Map.of("type", "nvidia-l4", "count", 2, "driverVersion", "latest"))
          .containsEntry("machineType", "g2-standard-24");
    }
    assertThat(rules.get(0))
        .containsEntry("spot", false)
        .containsEntry(
            "reservations",
            Map.of("affinity", "Specific", "specific", List.of(Map.of("name", "team-a-l4"))));
    assertThat(rules.get(1)).containsEntry("spot", true).doesNotContainKey("reservations");
    assertThat(rules.get(2))
        .containsEntry("spot", false)
        .containsEntry("reservations", Map.of("affinity", "None"));
    assertThat(rules.get(3))
        .containsEntry("flexStart", Map.of("enabled", true))
        .doesNotContainKey("spot");
  }

  @Test
  void theDriverIsLeftAloneWhenInstallationIsDisabled() {
    GenericKubernetesResource cc =
        ComputeClasses.desired(
            "nvidia-h100-80gb", 8, List.of(new CapacityPriority.Spot()), "INSTALLATION_DISABLED");
    assertThat(priorities(cc).get(0))
        .containsEntry("gpu", Map.of("type", "nvidia-h100-80gb", "count", 8))
        .containsEntry("machineType", "a3-highgpu-8g");
  }

  @Test
  void theSameShapeAndConfigurationRenderTheSameClass() {
    assertThat(ComputeClasses.desired("nvidia-l4", 1, ALL, "DEFAULT"))
        .isEqualTo(ComputeClasses.desired("nvidia-l4", 1, ALL, "DEFAULT"));
  }

  @Test
  void thePriorityListIsCheckedAtStartAndNamesTheKey() {
    assertThat(OperatorConfig.defaults().computeClassPriorities())
        .extracting(Object::toString)
        .containsExactly("spot", "on-demand", "flex-start");
    assertThat(
            OperatorConfig.fromEnv(
                    Map.of("FINETUNE_COMPUTE_CLASS_PRIORITIES", "reservation:l4-res,on-demand"))
                .computeClassPriorities())
        .containsExactly(
            new CapacityPriority.Reservation("l4-res"), new CapacityPriority.OnDemand());
    for (String bad :
        List.of("spot,preemptible", "spot,spot", "reservation:", "reservation:Team_A", " , ")) {
      assertThatThrownBy(
              () -> OperatorConfig.fromEnv(Map.of("FINETUNE_COMPUTE_CLASS_PRIORITIES", bad)))
          .as(bad)
          .isInstanceOf(ConfigKeys.InvalidConfig.class)
          .hasMessageContaining("FINETUNE_COMPUTE_CLASS_PRIORITIES=");
    }
    assertThatThrownBy(
            () -> OperatorConfig.fromEnv(Map.of("FINETUNE_COMPUTE_CLASS_PRIORITIES", "spot,fast")))
        .hasMessageContaining(
            "\"fast\" is not one of reservation:NAME, spot, on-demand, flex-start");
  }
}
