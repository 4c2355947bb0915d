package dev.finetune.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.gcp.iam.FakeIam;
import dev.finetune.operator.gcp.nodepool.FakeClusterManager;
import dev.finetune.operator.gcp.storage.FakeGcsServerExtension;
import dev.finetune.operator.gcp.storage.GcsUri;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The control plane (kube-apiserver, etcd and the controllers) stopped and started again while a
 * job trains. The operator keeps running; its informers reconnect and the job finishes, with
 * nothing made twice.
 */
class ApiServerRestartIT {
  static final Duration WAIT = Duration.ofSeconds(120);

  @RegisterExtension static FakeGcsServerExtension gcs = new FakeGcsServerExtension();

  static KubernetesClient client;
  static String ns;
  static String bucket;
  static FakeClusterManager gke;
  static FakeIam iam;
  static RunningOperator operator;

  @BeforeAll
  static void setUp() throws Exception {
    client = LocalCluster.client();
    bucket = gcs.server().newBucket("apidata");
    ns = LocalCluster.tenantNamespace("apirestart", TrainingFlowIT.GSA, bucket);
    TrainerOutput.writeTrainingData(gcs.server().objectStore(), bucket);
    TrainerOutput.writeFinishedRun(gcs.server().objectStore(), bucket, "survivor");
    gke = FakeClusterManager.start();
    iam = FakeIam.start();
    operator =
        new RunningOperator(
                ns,
                gcs.server().endpoint(),
                Map.of("FINETUNE_IAM_MODE", "gcp"),
                RunningOperator.standIns(gcs.server(), gke, iam))
            .start();
  }

  @AfterAll
  static void tearDown() {
    if (operator != null) {
      operator.close();
    }
    if (gke != null) {
      gke.close();
    }
    if (iam != null) {
      iam.close();
    }
  }

  /** kwokctl of the control plane, and the cluster's name and work dir from its kubeconfig. */
  static void kwokctl(String... args) throws Exception {
    Path kubeconfig = LocalCluster.kubeconfig().toAbsolutePath();
    Path clusterDir = kubeconfig.getParent();
    Path workdir = clusterDir.getParent().getParent();
    Path bin = Path.of(System.getProperty("user.home"), ".cache/finetune-operator/controlplane");
    Path tool;
    try (var dirs = Files.list(bin)) {
      tool =
          dirs.map(d -> d.resolve("bin/kwokctl"))
              .filter(Files::isExecutable)
              .findFirst()
              .orElseThrow();
    }
    List<String> cmd = new java.util.ArrayList<>(List.of(tool.toString(), "--name"));
    cmd.add(clusterDir.getFileName().toString());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("KWOK_WORKDIR", workdir.toString());
    pb.environment()
        .put("PATH", tool.getParent() + ":" + System.getenv().getOrDefault("PATH", "/usr/bin"));
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(3, TimeUnit.MINUTES) || p.exitValue() != 0) {
      throw new IllegalStateException("kwokctl " + List.of(args) + " failed: " + out);
    }
  }

  static FineTuneJob get(String name) {
    return client.resources(FineTuneJob.class).inNamespace(ns).withName(name).get();
  }

  static List<Pod> pods() {
    return client
        .pods()
        .inNamespace(ns)
        .withLabel("finetune.dev/job-name", "survivor")
        .list()
        .getItems();
  }

  @Test
  void aJobTrainingThroughAnApiServerRestartFinishesWithNothingMadeTwice() throws Exception {
    Path kubeconfig = LocalCluster.kubeconfig().toAbsolutePath();
    Assumptions.assumeTrue(
        kubeconfig.getParent().getParent().getFileName().toString().equals("clusters"),
        "the control plane is not a kwokctl cluster: " + kubeconfig);
    FineTuneJob job = Fixtures.job(ns, "survivor");
    job.getMetadata().setUid(null);
    job.getMetadata().setGeneration(null);
    job.getMetadata().setLabels(Map.of(TrainingFlowIT.HOLD, "true"));
    job.getSpec().dataset.train = "gs://" + bucket + "/train.jsonl";
    job.getSpec().dataset.validation = null;
    job.getSpec().output = "gs://" + bucket + "/runs/survivor/";
    String uid = client.resource(job).create().getMetadata().getUid();
    await()
        .atMost(WAIT)
        .until(() -> pods().stream().anyMatch(p -> "Running".equals(p.getStatus().getPhase())));
    String podUid = pods().get(0).getMetadata().getUid();

    kwokctl("stop", "cluster");
    // While the API server is away the trainer reports progress.
    gcs.server()
        .objectStore()
        .write(
            GcsUri.of(bucket, "runs/survivor/progress.json"),
            ("{\"step\": 7, \"totalSteps\": 10, \"updatedAt\": \"" + Instant.now() + "\"}")
                .getBytes(StandardCharsets.UTF_8));
    kwokctl("start", "cluster");
    await().atMost(WAIT).ignoreExceptions().until(() -> "ok".equals(client.raw("/readyz")));

    // The operator's informers came back and it reconciled the job again.
    await()
        .atMost(WAIT)
        .ignoreExceptions()
        .untilAsserted(() -> assertThat(get("survivor").getStatus().training.step).isEqualTo(7));
    Pod pod = pods().get(0);
    assertThat(pod.getMetadata().getUid()).isEqualTo(podUid);
    LocalCluster.succeedPod(ns, pod);
    await()
        .atMost(WAIT)
        .ignoreExceptions()
        .untilAsserted(
            () -> assertThat(get("survivor").getStatus().phase).isEqualTo(Phase.Succeeded));
    assertThat(pods()).hasSize(1);
    assertThat(
            client
                .batch()
                .v1()
                .jobs()
                .inNamespace(ns)
                .withLabel("finetune.dev/job-name", "survivor")
                .list()
                .getItems())
        .hasSize(1);
    assertThat(iam.setCalls()).isEqualTo(2);
    Map<String, Long> byReason =
        client.v1().events().inNamespace(ns).list().getItems().stream()
            .filter(e -> uid.equals(e.getInvolvedObject().getUid()))
            .collect(Collectors.groupingBy(Event::getReason, Collectors.counting()));
    assertThat(byReason.values()).allMatch(n -> n == 1L);
    assertThat(byReason).containsKeys("Training", "Evaluating", "Succeeded");
  }
}
