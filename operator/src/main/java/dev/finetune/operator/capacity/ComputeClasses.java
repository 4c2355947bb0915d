package dev.finetune.operator.capacity;

import dev.finetune.operator.children.Labels;
import dev.finetune.operator.gcp.nodepool.Accelerator;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The GKE ComputeClass (cloud.google.com/v1, cluster-scoped) of one job shape: an accelerator and a
 * GPU count, with the admin's priority list. Shared by every job of that shape, so no job owns it:
 * it is server-side applied (idempotent, field manager finetune-operator) by each job that needs it
 * and kept afterwards. An unused class costs nothing: its nodes scale to zero with GKE's autoscaler
 * like any other; an admin removes classes with {@code kubectl delete computeclass -l
 * app.kubernetes.io/managed-by=finetune-operator} (a running job re-applies its own).
 */
public final class ComputeClasses {
  public static final String API_VERSION = "cloud.google.com/v1";
  public static final String KIND = "ComputeClass";

  /** The node label (and taint key) by which a pod selects a ComputeClass. */
  public static final String SELECTOR_LABEL = "cloud.google.com/compute-class";

  public static final String COMPONENT = "compute-class";

  private ComputeClasses() {}

  /** {@code finetune-<accelerator>-x<count>}, such as finetune-nvidia-l4-x1. */
  public static String name(String accelerator, int gpus) {
    return "finetune-" + accelerator + "-x" + gpus;
  }

  /**
   * What the class should look like.
   *
   * @param gpuDriverVersion the operator's FINETUNE_GPU_DRIVER_VERSION (LATEST, DEFAULT or
   *     INSTALLATION_DISABLED; the last leaves the driver to the admin)
   */
  public static GenericKubernetesResource desired(
      String accelerator, int gpus, List<CapacityPriority> priorities, String gpuDriverVersion) {
    Map<String, Object> gpu = new LinkedHashMap<>();
    gpu.put("type", accelerator);
    gpu.put("count", gpus);
    if (!"INSTALLATION_DISABLED".equals(gpuDriverVersion)) {
      gpu.put("driverVersion", gpuDriverVersion.toLowerCase(Locale.ROOT));
    }
    String machineType = machineType(accelerator, gpus);
    List<Object> rules = new ArrayList<>();
    for (CapacityPriority p : priorities) {
      Map<String, Object> rule = new LinkedHashMap<>();
      if (machineType != null) {
        rule.put("machineType", machineType);
      }
      rule.put("gpu", gpu);
      if (p instanceof CapacityPriority.Reservation r) {
        rule.put("spot", false);
        rule.put(
            "reservations",
            Map.of("affinity", "Specific", "specific", List.of(Map.of("name", r.name()))));
      } else if (p instanceof CapacityPriority.Spot) {
        rule.put("spot", true);
      } else if (p instanceof CapacityPriority.OnDemand) {
        rule.put("spot", false);
        rule.put("reservations", Map.of("affinity", "None"));
      } else {
        rule.put("flexStart", Map.of("enabled", true));
      }
      rules.add(rule);
    }
    Map<String, Object> spec = new LinkedHashMap<>();
    spec.put(
        "description",
        "FineTune Operator: "
            + gpus
            + " x "
            + accelerator
            + " for trainer pods, tried in this order: "
            + String.join(", ", priorities.stream().map(Object::toString).toList()));
    spec.put("priorities", rules);
    spec.put("nodePoolAutoCreation", Map.of("enabled", true));
    // No fallback to GKE's default nodes: they have no GPUs, the trainer could not run there.
    spec.put("whenUnsatisfiable", "DoNotScaleUp");

    GenericKubernetesResource cc = new GenericKubernetesResource();
    cc.setApiVersion(API_VERSION);
    cc.setKind(KIND);
    Map<String, String> labels = new LinkedHashMap<>();
    labels.put(Labels.MANAGED_BY, Labels.MANAGED_BY_VALUE);
    labels.put(Labels.COMPONENT, COMPONENT);
    cc.setMetadata(
        new ObjectMetaBuilder().withName(name(accelerator, gpus)).withLabels(labels).build());
    cc.setAdditionalProperty("spec", spec);
    return cc;
  }

  private static String machineType(String accelerator, int gpus) {
    try {
      return Accelerator.fromId(accelerator).machineType(gpus);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }
}
