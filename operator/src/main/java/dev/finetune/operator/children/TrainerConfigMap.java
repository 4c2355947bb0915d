package dev.finetune.operator.children;

import dev.finetune.api.v1alpha1.FineTuneJob;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import java.util.Map;

/** The ConfigMap holding the rendered trainer job config, mounted at /etc/finetune. */
public final class TrainerConfigMap {
  public static final String KEY = "job.json";
  public static final String MOUNT_PATH = "/etc/finetune";

  private TrainerConfigMap() {}

  public static ConfigMap desired(FineTuneJob job, String image, String accelerator, int gpuCount) {
    return desired(job, image, accelerator, gpuCount, JobConfigRenderer.DEFAULT_STRATEGY);
  }

  /**
   * @param strategy {@code ddp} or {@code fsdp} (status.hardware.strategy); null means ddp
   */
  public static ConfigMap desired(
      FineTuneJob job, String image, String accelerator, int gpuCount, String strategy) {
    return new ConfigMapBuilder()
        .withNewMetadata()
        .withName(Labels.childName(job))
        .withNamespace(job.getMetadata().getNamespace())
        .withLabels(Labels.forChild(job, "trainer-config"))
        .withOwnerReferences(Owners.controllerRef(job))
        .endMetadata()
        .withData(
            Map.of(KEY, JobConfigRenderer.renderJson(job, image, accelerator, gpuCount, strategy)))
        .withImmutable(true)
        .build();
  }
}
