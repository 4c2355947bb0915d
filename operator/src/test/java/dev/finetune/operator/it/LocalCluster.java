package dev.finetune.operator.it;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The real local control plane of hack/cluster.sh: kube-apiserver, etcd, controller-manager and
 * scheduler built from Go modules, with kwok nodes. `make test` starts it and passes
 * FINETUNE_IT_KUBECONFIG; run alone, the first test starts it (and leaves it running for the next
 * run: `hack/cluster.sh down finetune-it` stops it).
 */
public final class LocalCluster {
  private static final Logger LOG = LoggerFactory.getLogger(LocalCluster.class);
  public static final Path REPO = Path.of("..").toAbsolutePath().normalize();
  public static final Path CRD = REPO.resolve("crds/finetunejobs.finetune.dev-v1.yml");
  private static final AtomicInteger NAMESPACES = new AtomicInteger();
  private static volatile KubernetesClient client;
  private static volatile Path kubeconfig;

  private LocalCluster() {}

  public static synchronized KubernetesClient client() {
    if (client == null) {
      kubeconfig = start();
      try {
        Config config = Config.fromKubeconfig(Files.readString(kubeconfig, StandardCharsets.UTF_8));
        client = new KubernetesClientBuilder().withConfig(config).build();
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
      var version = client.getKubernetesVersion();
      LOG.info(
          "local control plane: kube-apiserver {} ({}) at {}",
          version.getGitVersion(),
          version.getPlatform(),
          client.getMasterUrl());
      installCrd();
    }
    return client;
  }

  public static Path kubeconfig() {
    client();
    return kubeconfig;
  }

  private static Path start() {
    String env = System.getenv("FINETUNE_IT_KUBECONFIG");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    try {
      Process p =
          new ProcessBuilder(REPO.resolve("hack/cluster.sh").toString(), "up", "finetune-it")
              .redirectError(ProcessBuilder.Redirect.INHERIT)
              .start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
        throw new IllegalStateException("hack/cluster.sh up failed: " + out);
      }
      String[] lines = out.split("\n");
      return Path.of(lines[lines.length - 1].strip());
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static void installCrd() {
    try {
      CustomResourceDefinition crd =
          client
              .getKubernetesSerialization()
              .unmarshal(
                  Files.readString(CRD, StandardCharsets.UTF_8), CustomResourceDefinition.class);
      client.resource(crd).fieldManager("finetune-it").forceConflicts().serverSideApply();
      client
          .apiextensions()
          .v1()
          .customResourceDefinitions()
          .withName(crd.getMetadata().getName())
          .waitUntilCondition(
              c ->
                  c.getStatus() != null
                      && c.getStatus().getConditions() != null
                      && c.getStatus().getConditions().stream()
                          .anyMatch(
                              x ->
                                  "Established".equals(x.getType())
                                      && "True".equals(x.getStatus())),
              60,
              TimeUnit.SECONDS);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A fresh tenant namespace as a cluster admin sets it up: its jobs may run as {@code
   * serviceAccounts} and use the Cloud Storage bucket {@code bucket}.
   */
  public static String tenantNamespace(String prefix, String serviceAccounts, String bucket) {
    return namespace(
        prefix,
        Map.of(
            "finetune.dev/allowed-gcp-service-accounts",
            serviceAccounts,
            "finetune.dev/allowed-gcs-prefixes",
            "gs://" + bucket));
  }

  /** A fresh namespace for a test, with the given annotations. */
  public static String namespace(String prefix, Map<String, String> annotations) {
    String name = prefix + "-" + ProcessHandle.current().pid() + "-" + NAMESPACES.incrementAndGet();
    client()
        .namespaces()
        .resource(
            new NamespaceBuilder()
                .withNewMetadata()
                .withName(name)
                .withAnnotations(annotations)
                .endMetadata()
                .build())
        .create();
    return name;
  }

  /** Runs the control plane's kubectl against the cluster. */
  public static String kubectl(List<String> args) throws IOException, InterruptedException {
    Path bin = Path.of(System.getProperty("user.home"), ".cache/finetune-operator/controlplane");
    Path kubectl;
    try (var dirs = Files.list(bin)) {
      kubectl =
          dirs.map(d -> d.resolve("bin/kubectl"))
              .filter(Files::isExecutable)
              .findFirst()
              .orElse(Path.of("kubectl"));
    }
    List<String> cmd = new java.util.ArrayList<>();
    cmd.add(kubectl.toString());
    cmd.add("--kubeconfig=" + kubeconfig());
    // A fresh discovery cache: the CRD may be newer than a cache left by an earlier run.
    cmd.add("--cache-dir=" + Files.createTempDirectory("kubectl-cache"));
    cmd.addAll(args);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(2, TimeUnit.MINUTES);
    if (p.exitValue() != 0) {
      throw new IllegalStateException("kubectl " + args + " failed: " + out);
    }
    return out;
  }

  /** A kwok node of a managed pool, as GKE's autoscaler adds it when the pool scales up. */
  public static void poolNode(String name, dev.finetune.operator.gcp.nodepool.PoolShape shape) {
    Map<String, io.fabric8.kubernetes.api.model.Quantity> capacity =
        Map.of(
            "cpu", new io.fabric8.kubernetes.api.model.Quantity("208"),
            "memory", new io.fabric8.kubernetes.api.model.Quantity("1872Gi"),
            "ephemeral-storage", new io.fabric8.kubernetes.api.model.Quantity("2000Gi"),
            "pods", new io.fabric8.kubernetes.api.model.Quantity("110"),
            "nvidia.com/gpu", new io.fabric8.kubernetes.api.model.Quantity("16"));
    var node =
        new io.fabric8.kubernetes.api.model.NodeBuilder()
            .withNewMetadata()
            .withName(name)
            .withAnnotations(Map.of("kwok.x-k8s.io/node", "fake"))
            .withLabels(
                Map.of(
                    "type", "kwok",
                    "cloud.google.com/gke-nodepool", shape.poolName(),
                    "cloud.google.com/gke-accelerator", shape.accelerator(),
                    "cloud.google.com/gke-spot", String.valueOf(shape.spot()),
                    "node.kubernetes.io/instance-type", shape.machineType()))
            .endMetadata()
            .withNewSpec()
            .addNewTaint()
            .withKey("nvidia.com/gpu")
            .withValue("present")
            .withEffect("NoSchedule")
            .endTaint()
            .endSpec()
            .withNewStatus()
            .withCapacity(capacity)
            .withAllocatable(capacity)
            .endStatus()
            .build();
    try {
      client().nodes().resource(node).create();
    } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
      if (e.getCode() != 409) {
        throw e;
      }
    }
  }

  /** What the kubelet reports when the trainer exits 0. */
  public static void succeedPod(String namespace, io.fabric8.kubernetes.api.model.Pod pod) {
    var fresh = client().pods().inNamespace(namespace).withName(pod.getMetadata().getName()).get();
    fresh.getStatus().setPhase("Succeeded");
    fresh
        .getStatus()
        .setContainerStatuses(
            List.of(
                new io.fabric8.kubernetes.api.model.ContainerStatusBuilder()
                    .withName("trainer")
                    .withImage(fresh.getSpec().getContainers().get(0).getImage())
                    .withReady(false)
                    .withRestartCount(0)
                    .withNewState()
                    .withNewTerminated()
                    .withExitCode(0)
                    .withReason("Completed")
                    .withStartedAt(java.time.Instant.now().minusSeconds(60).toString())
                    .withFinishedAt(java.time.Instant.now().toString())
                    .endTerminated()
                    .endState()
                    .build()));
    client().pods().inNamespace(namespace).resource(fresh).updateStatus();
  }
}
