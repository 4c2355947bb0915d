package dev.finetune.operator.capacity;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.HardwareSpec;
import dev.finetune.operator.children.TrainerJob;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the computeClass and flexStart modes change in the trainer Job that {@link TrainerJob}
 * renders: its node selector, tolerations and affinity, and for flexStart the suspension and the
 * annotations that make the pod consume its ProvisioningRequest. Applied to the desired Job before
 * it is created (the Job is never updated).
 */
public final class CapacityPlacement {
  private CapacityPlacement() {}

  public static HardwareSpec.Provisioning mode(FineTuneJob job) {
    HardwareSpec hw = job.getSpec().hardware;
    return hw == null || hw.provisioning == null
        ? HardwareSpec.Provisioning.MANAGED
        : hw.provisioning;
  }

  /**
   * Whether Kueue admits this job (spec.queue is set): then Kueue's ProvisioningRequest admission
   * check makes the request and Kueue unsuspends the Job, so the operator does neither.
   */
  public static boolean queuedByKueue(FineTuneJob job) {
    return dev.finetune.operator.children.TrainerJob.queue(job) != null;
  }

  /** The Job for this job's provisioning mode (unchanged for managed, existing, autoprovision). */
  public static Job apply(FineTuneJob ftj, Job job, String computeClass) {
    return switch (mode(ftj)) {
      case COMPUTE_CLASS -> computeClass(job, computeClass);
      case FLEX_START -> flexStart(ftj, job);
      default -> job;
    };
  }

  /**
   * The pod selects the class by its node label and tolerates the class's taint and Spot's; the
   * class's priorities decide spot or not, so the pod neither requires nor refuses Spot nodes.
   */
  static Job computeClass(Job job, String name) {
    PodSpec pod = job.getSpec().getTemplate().getSpec();
    Map<String, String> selector = new LinkedHashMap<>();
    selector.put(ComputeClasses.SELECTOR_LABEL, name);
    pod.setNodeSelector(selector);
    pod.setAffinity(null);
    List<Toleration> tolerations = new ArrayList<>(pod.getTolerations());
    tolerations.add(equal(ComputeClasses.SELECTOR_LABEL, name));
    if (tolerations.stream().noneMatch(t -> NodeCapacity.SPOT_LABEL.equals(t.getKey()))) {
      tolerations.add(equal(NodeCapacity.SPOT_LABEL, "true"));
    }
    pod.setTolerations(tolerations);
    return job;
  }

  /**
   * Created suspended; the pod lands on flex-start nodes of its accelerator (queued nodes are
   * tainted cloud.google.com/gke-queued) and, unless Kueue handles the job, consumes the job's
   * ProvisioningRequest.
   */
  static Job flexStart(FineTuneJob ftj, Job job) {
    job.getSpec().setSuspend(true);
    PodSpec pod = job.getSpec().getTemplate().getSpec();
    Map<String, String> selector = new LinkedHashMap<>();
    selector.put(
        TrainerJob.ACCELERATOR_LABEL, pod.getNodeSelector().get(TrainerJob.ACCELERATOR_LABEL));
    selector.put(FlexStart.FLEX_START_LABEL, "true");
    pod.setNodeSelector(selector);
    pod.setAffinity(null);
    List<Toleration> tolerations = new ArrayList<>();
    for (Toleration t : pod.getTolerations()) {
      if (!NodeCapacity.SPOT_LABEL.equals(t.getKey())) {
        tolerations.add(t);
      }
    }
    tolerations.add(equal(FlexStart.QUEUED_TAINT, "true"));
    pod.setTolerations(tolerations);
    if (!queuedByKueue(ftj)) {
      Map<String, String> annotations =
          new LinkedHashMap<>(job.getSpec().getTemplate().getMetadata().getAnnotations());
      annotations.put(FlexStart.CONSUME_ANNOTATION, FlexStart.name(ftj));
      annotations.put(FlexStart.CLASS_ANNOTATION, FlexStart.CLASS);
      job.getSpec().getTemplate().getMetadata().setAnnotations(annotations);
    }
    return job;
  }

  private static Toleration equal(String key, String value) {
    return new TolerationBuilder()
        .withKey(key)
        .withOperator("Equal")
        .withValue(value)
        .withEffect("NoSchedule")
        .build();
  }
}
