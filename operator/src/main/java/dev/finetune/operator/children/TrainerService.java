package dev.finetune.operator.children;

import dev.finetune.api.v1alpha1.FineTuneJob;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Several nodes (hardware.nodes above 1): the headless Service that gives each trainer pod of the
 * Indexed Job a DNS name, {@code <job>-<index>.<service>}, so that the pods find the index-0 pod
 * where they meet (torchrun's rendezvous). Created once and never updated; it belongs to its
 * FineTuneJob by the controller reference's UID and goes with it.
 */
public final class TrainerService {
  /** The port torchrun's rendezvous store listens on in the index-0 pod. */
  public static final int RENDEZVOUS_PORT = 29500;

  public static final String PORT_NAME = "rendezvous";

  private TrainerService() {}

  public static Service desired(FineTuneJob job) {
    Map<String, String> annotations = new LinkedHashMap<>();
    annotations.put(Owners.OWNER_NAME, job.getMetadata().getName());
    annotations.put(Owners.OWNER_NAMESPACE, job.getMetadata().getNamespace());
    return new ServiceBuilder()
        .withNewMetadata()
        .withName(name(job))
        .withNamespace(job.getMetadata().getNamespace())
        .withLabels(Labels.forChild(job, "trainer"))
        .withAnnotations(annotations)
        .withOwnerReferences(Owners.controllerRef(job))
        .endMetadata()
        .withNewSpec()
        .withClusterIP("None")
        // The pods look each other up while they start, before any of them is Ready.
        .withPublishNotReadyAddresses(true)
        .withSelector(selector(job))
        .addNewPort()
        .withName(PORT_NAME)
        .withPort(RENDEZVOUS_PORT)
        .withProtocol("TCP")
        .endPort()
        .endSpec()
        .build();
  }

  /** The trainer Job's pods (labels the operator sets on its pod template). */
  static Map<String, String> selector(FineTuneJob job) {
    Map<String, String> s = new LinkedHashMap<>();
    s.put(Labels.MANAGED_BY, Labels.MANAGED_BY_VALUE);
    s.put(Labels.COMPONENT, "trainer");
    s.put(Labels.JOB_NAME, Labels.jobNameValue(job));
    return s;
  }

  /**
   * The Service's name, also the pods' subdomain: the child name as a DNS label (a Service name
   * must start with a letter and has no dots).
   */
  public static String name(FineTuneJob job) {
    String n = Labels.childName(job).replace('.', '-');
    return Character.isLetter(n.charAt(0)) ? n : "t" + n.substring(0, Math.min(n.length(), 62));
  }

  /** The index-0 pod's DNS name, relative to the namespace (resolved through the search path). */
  public static String masterAddress(FineTuneJob job) {
    return Labels.childName(job) + "-0." + name(job);
  }
}
