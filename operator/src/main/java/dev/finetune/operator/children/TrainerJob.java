package dev.finetune.operator.children;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.HardwareSpec;
import dev.finetune.api.v1alpha1.ModelSpec;
import dev.finetune.operator.OperatorConfig;
import dev.finetune.operator.gcp.nodepool.Accelerator;
import io.fabric8.kubernetes.api.model.Affinity;
import io.fabric8.kubernetes.api.model.AffinityBuilder;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.PodFailurePolicyRule;
import io.fabric8.kubernetes.api.model.batch.v1.PodFailurePolicyRuleBuilder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The trainer's batch/v1 Job. Created once and never updated (a Job's pod template is immutable,
 * and the spec of a FineTuneJob is too).
 */
public final class TrainerJob {
  public static final String CONTAINER = "trainer";
  public static final String GPU_RESOURCE = "nvidia.com/gpu";
  public static final String ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator";
  public static final String NODE_POOL_LABEL = "cloud.google.com/gke-nodepool";
  public static final String SPOT_LABEL = "cloud.google.com/gke-spot";

  /** Kueue's label naming the LocalQueue of a workload (spec.queue). */
  public static final String QUEUE_LABEL = "kueue.x-k8s.io/queue-name";

  private static final String KUEUE_PREFIX = "kueue.x-k8s.io/";

  /** Set in the pod when the operator's local-cluster setting lets the trainer use the CPU. */
  public static final String ALLOW_CPU_ENV = "FINETUNE_ALLOW_CPU";

  /** Exit code of the trainer for bad config or data: retrying cannot help. */
  public static final int EXIT_BAD_INPUT = 2;

  /**
   * Exit code of a trainer pod of several nodes whose group stopped because another pod of it was
   * preempted or lost. The pod is replaced and the group resumes from the last checkpoint; like a
   * preemption it is not a failure.
   */
  public static final int EXIT_PEER_STOPPED = 75;

  /** Several nodes: where the pods meet (the index-0 pod's DNS name) and how many there are. */
  public static final String MASTER_ADDR_ENV = "FINETUNE_MASTER_ADDR";

  public static final String MASTER_PORT_ENV = "FINETUNE_MASTER_PORT";
  public static final String NNODES_ENV = "FINETUNE_NNODES";

  private TrainerJob() {}

  /**
   * What the Job should look like.
   *
   * @param placement where the pod may run: accelerator, GPU count, spot, and for managed
   *     provisioning the node pool
   * @param allowCpu local clusters only: tell the trainer it may train on CPU when the node has no
   *     CUDA device
   */
  public static Job desired(
      FineTuneJob job,
      String image,
      Placement placement,
      int backoffLimit,
      String gcsEndpoint,
      boolean allowCpu) {
    OperatorConfig defaults = OperatorConfig.defaults();
    return desired(
        job,
        image,
        placement,
        backoffLimit,
        gcsEndpoint,
        allowCpu,
        PodSettings.of(placement, defaults.trainerPod(), defaults.nodePools().diskSizeGb()));
  }

  /**
   * What the Job should look like.
   *
   * @param pod the pod's requests, /dev/shm size and grace period
   */
  public static Job desired(
      FineTuneJob job,
      String image,
      Placement placement,
      int backoffLimit,
      String gcsEndpoint,
      boolean allowCpu,
      PodSettings pod) {
    String name = Labels.childName(job);
    Map<String, String> labels = Labels.forChild(job, "trainer");
    // Kueue's labels come from spec.queue alone, never from the FineTuneJob's own labels.
    labels.keySet().removeIf(k -> k.startsWith(KUEUE_PREFIX));
    String queue = queue(job);
    Map<String, String> jobLabels = new LinkedHashMap<>(labels);
    if (queue != null) {
      jobLabels.put(QUEUE_LABEL, queue);
    }
    Map<String, String> annotations = new LinkedHashMap<>();
    annotations.put(Owners.OWNER_NAME, job.getMetadata().getName());
    annotations.put(Owners.OWNER_NAMESPACE, job.getMetadata().getNamespace());

    Map<String, String> nodeSelector = new LinkedHashMap<>();
    nodeSelector.put(ACCELERATOR_LABEL, placement.accelerator());
    if (placement.nodePool() != null) {
      nodeSelector.put(NODE_POOL_LABEL, placement.nodePool());
    }
    if (placement.spot()) {
      nodeSelector.put(SPOT_LABEL, "true");
    }

    List<Toleration> tolerations = new ArrayList<>();
    tolerations.add(
        new TolerationBuilder()
            .withKey(GPU_RESOURCE)
            .withOperator("Exists")
            .withEffect("NoSchedule")
            .build());
    // An on-demand job stays off Spot nodes: it would be preempted, and priced as on-demand.
    Affinity affinity =
        placement.spot()
            ? null
            : new AffinityBuilder()
                .withNewNodeAffinity()
                .withNewRequiredDuringSchedulingIgnoredDuringExecution()
                .addNewNodeSelectorTerm()
                .addNewMatchExpression()
                .withKey(SPOT_LABEL)
                .withOperator("NotIn")
                .withValues("true")
                .endMatchExpression()
                .endNodeSelectorTerm()
                .endRequiredDuringSchedulingIgnoredDuringExecution()
                .endNodeAffinity()
                .build();
    if (placement.spot()) {
      tolerations.add(
          new TolerationBuilder()
              .withKey(SPOT_LABEL)
              .withOperator("Equal")
              .withValue("true")
              .withEffect("NoSchedule")
              .build());
    }

    Quantity gpus = new Quantity(Integer.toString(placement.gpuCount()));
    List<EnvVar> env = new ArrayList<>();
    env.add(env("FINETUNE_CONFIG", TrainerConfigMap.MOUNT_PATH + "/" + TrainerConfigMap.KEY));
    env.add(env("HF_HOME", "/workspace/hf"));
    env.add(env("TMPDIR", "/tmp"));
    env.add(env("HOME", "/workspace"));
    if (gcsEndpoint != null) {
      env.add(env("STORAGE_EMULATOR_HOST", gcsEndpoint));
    }
    if (allowCpu) {
      env.add(env(ALLOW_CPU_ENV, "true"));
    }

    List<VolumeMount> mounts = new ArrayList<>();
    mounts.add(mount("config", TrainerConfigMap.MOUNT_PATH, true));
    mounts.add(mount("workspace", "/workspace", false));
    mounts.add(mount("tmp", "/tmp", false));
    mounts.add(mount("dshm", "/dev/shm", false));
    List<Volume> volumes = new ArrayList<>();
    volumes.add(
        new VolumeBuilder()
            .withName("config")
            .withNewConfigMap()
            .withName(name)
            .endConfigMap()
            .build());
    volumes.add(new VolumeBuilder().withName("workspace").withNewEmptyDir().endEmptyDir().build());
    volumes.add(new VolumeBuilder().withName("tmp").withNewEmptyDir().endEmptyDir().build());
    volumes.add(
        new VolumeBuilder()
            .withName("dshm")
            .withNewEmptyDir()
            .withMedium("Memory")
            .withSizeLimit(new Quantity(pod.shmSize()))
            .endEmptyDir()
            .build());
    ModelSpec.SecretKeyRef token = job.getSpec().model.tokenSecretRef;
    if (token != null) {
      mounts.add(mount("hf-token", "/var/run/secrets/finetune/hf", true));
      volumes.add(
          new VolumeBuilder()
              .withName("hf-token")
              .withNewSecret()
              .withSecretName(token.name)
              .addNewItem()
              .withKey(token.key == null ? "token" : token.key)
              .withPath("token")
              .endItem()
              .endSecret()
              .build());
    }

    Job built =
        new JobBuilder()
            .withNewMetadata()
            .withName(name)
            .withNamespace(job.getMetadata().getNamespace())
            .withLabels(jobLabels)
            .withAnnotations(annotations)
            .withOwnerReferences(Owners.controllerRef(job))
            .endMetadata()
            .withNewSpec()
            // With a queue, Kueue admits the Job by unsuspending it; the operator never does.
            .withSuspend(queue == null ? null : Boolean.TRUE)
            .withBackoffLimit(backoffLimit)
            .withActiveDeadlineSeconds(Durations.parseSeconds(maxRuntime(job)))
            .withNewPodFailurePolicy()
            .withRules(ignorePreemption(), failOnBadInput())
            .endPodFailurePolicy()
            .withNewTemplate()
            .withNewMetadata()
            .withLabels(labels)
            .withAnnotations(annotations)
            .endMetadata()
            .withNewSpec()
            .withRestartPolicy("Never")
            .withServiceAccountName(name)
            .withAutomountServiceAccountToken(false)
            .withNodeSelector(nodeSelector)
            .withTolerations(tolerations)
            .withAffinity(affinity)
            .withTerminationGracePeriodSeconds(pod.gracePeriodSeconds())
            .withNewSecurityContext()
            .withRunAsNonRoot(true)
            .withRunAsUser(1000L)
            .withRunAsGroup(1000L)
            .withFsGroup(1000L)
            .withNewSeccompProfile()
            .withType("RuntimeDefault")
            .endSeccompProfile()
            .endSecurityContext()
            .withContainers(
                new ContainerBuilder()
                    .withName(CONTAINER)
                    .withImage(image)
                    .withCommand(
                        "python",
                        "-m",
                        "finetune_trainer",
                        "--config",
                        TrainerConfigMap.MOUNT_PATH + "/" + TrainerConfigMap.KEY)
                    .withEnv(env)
                    .withVolumeMounts(mounts)
                    .withTerminationMessagePolicy("FallbackToLogsOnError")
                    .withNewResources()
                    .withRequests(pod.requests(gpus))
                    .withLimits(pod.limits(gpus))
                    .endResources()
                    .withNewSecurityContext()
                    .withAllowPrivilegeEscalation(false)
                    .withReadOnlyRootFilesystem(true)
                    .withRunAsNonRoot(true)
                    .withNewCapabilities()
                    .withDrop("ALL")
                    .endCapabilities()
                    .endSecurityContext()
                    .build())
            .withVolumes(volumes)
            .endSpec()
            .endTemplate()
            .endSpec()
            .build();
    return nodes(job) > 1 ? multiNode(built, job) : built;
  }

  /** hardware.nodes, 1 when unset. */
  public static int nodes(FineTuneJob job) {
    HardwareSpec hw = job.getSpec().hardware;
    return hw == null || hw.nodes == null ? 1 : hw.nodes;
  }

  /**
   * Several nodes: an Indexed Job of {@code nodes} pods that all run at once, each named in DNS by
   * the headless {@link TrainerService} ({@code <job>-<index>.<service>}); index 0 hosts the
   * rendezvous and every pod's node rank is its JOB_COMPLETION_INDEX. When one pod is preempted the
   * group saves a checkpoint and stops together: the preempted pod is ignored by DisruptionTarget,
   * the others exit {@link #EXIT_PEER_STOPPED}, also ignored, and the Job replaces every index,
   * which resume from that checkpoint.
   */
  static Job multiNode(Job single, FineTuneJob job) {
    int nodes = nodes(job);
    var spec = single.getSpec();
    spec.setCompletionMode("Indexed");
    spec.setCompletions(nodes);
    spec.setParallelism(nodes);
    spec.getPodFailurePolicy().getRules().add(ignorePeerStopped());
    var pod = spec.getTemplate().getSpec();
    pod.setSubdomain(TrainerService.name(job));
    var container = pod.getContainers().get(0);
    container.getEnv().add(env(MASTER_ADDR_ENV, TrainerService.masterAddress(job)));
    container.getEnv().add(env(MASTER_PORT_ENV, Integer.toString(TrainerService.RENDEZVOUS_PORT)));
    container.getEnv().add(env(NNODES_ENV, Integer.toString(nodes)));
    container.setPorts(
        List.of(
            new io.fabric8.kubernetes.api.model.ContainerPortBuilder()
                .withName(TrainerService.PORT_NAME)
                .withContainerPort(TrainerService.RENDEZVOUS_PORT)
                .withProtocol("TCP")
                .build()));
    return single;
  }

  /** A pod that stopped because a peer of its group was preempted or lost: not a failure. */
  static PodFailurePolicyRule ignorePeerStopped() {
    return new PodFailurePolicyRuleBuilder()
        .withAction("Ignore")
        .withNewOnExitCodes()
        .withContainerName(CONTAINER)
        .withOperator("In")
        .withValues(EXIT_PEER_STOPPED)
        .endOnExitCodes()
        .build();
  }

  /** Spot preemption and node maintenance evict the pod: resume, do not count it. */
  static PodFailurePolicyRule ignorePreemption() {
    return new PodFailurePolicyRuleBuilder()
        .withAction("Ignore")
        .addNewOnPodCondition()
        .withType("DisruptionTarget")
        .withStatus("True")
        .endOnPodCondition()
        .build();
  }

  /** Exit code 2 means bad config or data: fail the Job at once. */
  static PodFailurePolicyRule failOnBadInput() {
    return new PodFailurePolicyRuleBuilder()
        .withAction("FailJob")
        .withNewOnExitCodes()
        .withContainerName(CONTAINER)
        .withOperator("In")
        .withValues(EXIT_BAD_INPUT)
        .endOnExitCodes()
        .build();
  }

  /** The Kueue LocalQueue of the job (spec.queue), or null. */
  public static String queue(FineTuneJob job) {
    String q = job.getSpec() == null ? null : job.getSpec().queue;
    return q == null || q.isEmpty() ? null : q;
  }

  /** Whether the Job is suspended (waiting for Kueue, or preempted by it). */
  public static boolean suspended(Job job) {
    return job.getSpec() != null && Boolean.TRUE.equals(job.getSpec().getSuspend());
  }

  static String maxRuntime(FineTuneJob job) {
    HardwareSpec hw = job.getSpec().hardware;
    return hw == null || hw.maxRuntime == null ? "24h" : hw.maxRuntime;
  }

  private static EnvVar env(String name, String value) {
    return new EnvVarBuilder().withName(name).withValue(value).build();
  }

  private static VolumeMount mount(String name, String path, boolean readOnly) {
    return new VolumeMountBuilder()
        .withName(name)
        .withMountPath(path)
        .withReadOnly(readOnly)
        .build();
  }

  /**
   * Where the trainer pod may run.
   *
   * @param accelerator GKE accelerator name (node label cloud.google.com/gke-accelerator)
   * @param gpuCount GPUs requested
   * @param spot whether the pod must run on spot nodes
   * @param nodePool managed node pool name, or null to let the scheduler pick any pool
   */
  public record Placement(String accelerator, int gpuCount, boolean spot, String nodePool) {
    /** The machine type GKE gives this many GPUs of this accelerator, if it is a known one. */
    public Optional<String> machineType() {
      try {
        return Optional.of(Accelerator.fromId(accelerator).machineType(gpuCount));
      } catch (IllegalArgumentException e) {
        return Optional.empty();
      }
    }
  }

  /**
   * The trainer pod's resources and timing.
   *
   * @param machine CPU, memory and ephemeral-storage requests (empty: GPUs only)
   * @param shmSize size limit of /dev/shm (memory-backed; counts against the memory limit)
   * @param gracePeriodSeconds SIGTERM to SIGKILL, for the trainer's checkpoint
   */
  public record PodSettings(
      Optional<MachineResources.Requests> machine, String shmSize, long gracePeriodSeconds) {

    static final String DEFAULT_SHM_WITHOUT_REQUESTS = "1Gi";
    static final long MAX_DERIVED_SHM_MIB = 16 * 1024;

    public static PodSettings of(
        Placement placement, OperatorConfig.TrainerPod pod, int diskSizeGb) {
      Optional<MachineResources.Requests> machine =
          "none".equals(pod.requests())
              ? Optional.empty()
              : placement
                  .machineType()
                  .flatMap(mt -> MachineResources.requests(mt, diskSizeGb, placement.gpuCount()));
      String shm = pod.shmSize();
      if (shm == null || shm.isEmpty()) {
        shm =
            machine
                .map(m -> Math.min(MAX_DERIVED_SHM_MIB, m.memoryMib() / 4) + "Mi")
                .orElse(DEFAULT_SHM_WITHOUT_REQUESTS);
      }
      return new PodSettings(machine, shm, pod.gracePeriod().toSeconds());
    }

    Map<String, Quantity> requests(Quantity gpus) {
      Map<String, Quantity> m = new LinkedHashMap<>();
      m.put(GPU_RESOURCE, gpus);
      machine.ifPresent(
          r -> {
            m.put("cpu", new Quantity(r.cpu()));
            m.put("memory", new Quantity(r.memory()));
            m.put("ephemeral-storage", new Quantity(r.ephemeralStorage()));
          });
      return m;
    }

    /** GPUs, and memory at its request: a trainer that grows past it is stopped, not its node. */
    Map<String, Quantity> limits(Quantity gpus) {
      Map<String, Quantity> m = new LinkedHashMap<>();
      m.put(GPU_RESOURCE, gpus);
      machine.ifPresent(r -> m.put("memory", new Quantity(r.memory())));
      return m;
    }
  }
}
