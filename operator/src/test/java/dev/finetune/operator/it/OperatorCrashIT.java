package dev.finetune.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.api.v1alpha1.HardwareSpec;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.gcp.iam.FakeIam;
import dev.finetune.operator.gcp.iam.WorkloadIdentityMembers;
import dev.finetune.operator.gcp.nodepool.FakeClusterManager;
import dev.finetune.operator.gcp.nodepool.PoolShape;
import dev.finetune.operator.gcp.storage.FakeGcsServerExtension;
import dev.finetune.operator.gcp.storage.GcsUri;
import dev.finetune.operator.reconcile.Conditions;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The operator killed at every boundary of a job's life: after each side effect and before the
 * status that records it (between the IAM grant and its status, between the pool create and its
 * status, between the Job create and its status, between the release and its status). A fresh
 * operator takes over each time. Witnesses: the stand-ins' call counts, the children's UIDs, the
 * Events; no sleeps.
 */
class OperatorCrashIT {
  static final String GSA = "trainer@proj-1.iam.gserviceaccount.com";
  static final Duration WAIT = Duration.ofSeconds(120);
  static final PoolShape SHAPE = new PoolShape("nvidia-l4", 1, true);

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
    bucket = gcs.server().newBucket("crashdata");
    ns = LocalCluster.tenantNamespace("crash", GSA, bucket);
    TrainerOutput.writeTrainingData(gcs.server().objectStore(), bucket);
    gke = FakeClusterManager.start().completeOperationsAfterPolls(2);
    iam = FakeIam.start();
    LocalCluster.poolNode(SHAPE.poolName() + "-crash-0", SHAPE);
  }

  @AfterAll
  static void tearDown() {
    if (operator != null) {
      operator.close();
    }
    client.nodes().withName(SHAPE.poolName() + "-crash-0").delete();
    gke.close();
    iam.close();
  }

  static RunningOperator newOperator() {
    return new RunningOperator(
        ns,
        gcs.server().endpoint(),
        Map.of("FINETUNE_IAM_MODE", "gcp"),
        RunningOperator.standIns(gcs.server(), gke, iam));
  }

  static void writePredictions(String name) throws Exception {
    TrainerOutput.writeArtifacts(gcs.server().objectStore(), bucket, name);
    ObjectMapper json = new ObjectMapper();
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 4; i++) {
      String ref = json.writeValueAsString(Map.of("name", "Ada " + i));
      sb.append(json.writeValueAsString(Map.of("id", "e" + i, "reference", ref, "prediction", ref)))
          .append('\n');
    }
    for (String f : List.of("baseline.jsonl", "tuned.jsonl")) {
      gcs.server()
          .objectStore()
          .write(
              GcsUri.of(bucket, "runs/" + name + "/predictions/" + f),
              sb.toString().getBytes(StandardCharsets.UTF_8));
    }
  }

  static FineTuneJob get(String name) {
    return client.resources(FineTuneJob.class).inNamespace(ns).withName(name).get();
  }

  record Boundary(String name, Predicate<FineTuneJobStatus> at) {}

  static boolean cond(FineTuneJobStatus s, String type, String status, String text) {
    return Conditions.get(s, type)
        .filter(c -> status.equals(c.getStatus()))
        .filter(c -> text == null || String.valueOf(c.getMessage()).contains(text))
        .isPresent();
  }

  static final List<Boundary> BOUNDARIES =
      List.of(
          new Boundary("Pending -> Validating", s -> s.phase == Phase.Validating),
          new Boundary(
              "grants recorded, before the bind",
              s -> s.phase == Phase.Provisioning && s.identity != null),
          new Boundary(
              "IAM grant made, before its status",
              s -> cond(s, Conditions.IDENTITY_BOUND, "True", null)),
          new Boundary(
              "pool create sent, before its status",
              s -> cond(s, Conditions.CAPACITY_READY, "False", "GKE is creating")),
          new Boundary(
              "Job created, before its status",
              s -> s.phase == Phase.Training && s.training != null && s.training.jobName != null),
          new Boundary("Training -> Evaluating", s -> s.phase == Phase.Evaluating),
          new Boundary("Evaluating -> Succeeded", s -> s.phase == Phase.Succeeded),
          new Boundary(
              "grants released, before their status",
              s -> s.identity != null && s.identity.releasedAt != null));

  @Test
  void killedAtEveryBoundaryTheJobConvergesWithNothingDoneTwice() throws Exception {
    writePredictions("crashy");
    FineTuneJob job = Fixtures.job(ns, "crashy");
    job.getMetadata().setUid(null);
    job.getMetadata().setGeneration(null);
    job.getSpec().dataset.train = "gs://" + bucket + "/train.jsonl";
    job.getSpec().dataset.validation = null;
    job.getSpec().output = "gs://" + bucket + "/runs/crashy/";
    job.getSpec().hardware.provisioning = HardwareSpec.Provisioning.MANAGED;

    CompletableFuture<String> crashed = armed(BOUNDARIES.get(0));
    operator = newOperator().beforeStatusWrite(hook).start();
    String uid = client.resource(job).create().getMetadata().getUid();
    for (int i = 0; i < BOUNDARIES.size(); i++) {
      String where = crashed.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      // Killed right there: the status that would have recorded the step is never written.
      operator.stop();
      crashed =
          i + 1 < BOUNDARIES.size()
              ? armed(BOUNDARIES.get(i + 1))
              : CompletableFuture.completedFuture("none");
      operator = newOperator().beforeStatusWrite(hook).start();
      assertThat(where).isEqualTo(BOUNDARIES.get(i).name());
    }

    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              FineTuneJob j = get("crashy");
              assertThat(j.getStatus().phase).as(j.getStatus().message).isEqualTo(Phase.Succeeded);
              assertThat(j.getStatus().identity.releasedAt).isNotNull();
            });
    FineTuneJob done = get("crashy");
    // One pool asked for, one grant made and one removed, one Job, one pod.
    assertThat(gke.createCalls()).isEqualTo(1);
    assertThat(gke.pools()).hasSize(1);
    assertThat(iam.setCalls()).isEqualTo(2);
    assertThat(
            iam.members(
                WorkloadIdentityMembers.serviceAccountResource(GSA),
                WorkloadIdentityMembers.WORKLOAD_IDENTITY_USER))
        .isEmpty();
    assertThat(
            client
                .batch()
                .v1()
                .jobs()
                .inNamespace(ns)
                .withLabel("finetune.dev/job-name", "crashy")
                .list()
                .getItems())
        .hasSize(1);
    assertThat(
            client
                .pods()
                .inNamespace(ns)
                .withLabel("finetune.dev/job-name", "crashy")
                .list()
                .getItems())
        .hasSize(1);
    assertThat(done.getStatus().training.attempts).isEqualTo(1);
    // One Event per phase change.
    List<Event> events =
        client.v1().events().inNamespace(ns).list().getItems().stream()
            .filter(e -> uid.equals(e.getInvolvedObject().getUid()))
            .toList();
    Map<String, Long> byReason =
        events.stream().collect(Collectors.groupingBy(Event::getReason, Collectors.counting()));
    assertThat(byReason)
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "Validating", 1L,
                "Provisioning", 1L,
                "Training", 1L,
                "Evaluating", 1L,
                "Succeeded", 1L));
    assertThat(Conditions.get(done.getStatus(), Conditions.RECONCILING).orElseThrow().getStatus())
        .isEqualTo("False");
    assertThat(Conditions.get(done.getStatus(), Conditions.STALLED).orElseThrow().getStatus())
        .isEqualTo("False");
  }

  static volatile java.util.function.BiConsumer<FineTuneJob, FineTuneJobStatus> hook;

  /** Arms a one-shot crash at the first status write that matches the boundary. */
  static CompletableFuture<String> armed(Boundary b) {
    CompletableFuture<String> f = new CompletableFuture<>();
    hook =
        (job, status) -> {
          if (!f.isDone() && b.at().test(status)) {
            f.complete(b.name());
            throw new IllegalStateException("killed at: " + b.name());
          }
        };
    if (operator != null && operator.operator() != null) {
      operator.beforeStatusWrite(hook);
    }
    return f;
  }
}
