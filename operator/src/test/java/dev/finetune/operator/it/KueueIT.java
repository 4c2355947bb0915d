package dev.finetune.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.gcp.iam.FakeIam;
import dev.finetune.operator.gcp.nodepool.FakeClusterManager;
import dev.finetune.operator.gcp.storage.FakeGcsServerExtension;
import dev.finetune.operator.reconcile.Conditions;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kueue quotas with the real Kueue controller (built from its Go module) against the local control
 * plane: a ClusterQueue with quota for one trainer's GPU, a LocalQueue in the tenant namespace, and
 * FineTuneJobs that name it in spec.queue. The operator creates the trainer Jobs suspended; Kueue
 * alone admits (unsuspends) them, one at a time, and may suspend one again.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KueueIT {
  static final String HOLD = "kwok.finetune.dev/hold";
  static final String QUEUE = "gpus";
  static final Duration WAIT = Duration.ofSeconds(120);
  static final ResourceDefinitionContext WORKLOADS =
      new ResourceDefinitionContext.Builder()
          .withGroup("kueue.x-k8s.io")
          .withVersion("v1beta2")
          .withPlural("workloads")
          .withKind("Workload")
          .withNamespaced(true)
          .build();

  @RegisterExtension static FakeGcsServerExtension gcs = new FakeGcsServerExtension();

  static KubernetesClient client;
  static String ns;
  static String bucket;
  static String clusterQueue;
  static KueueController kueue;
  static FakeClusterManager gke;
  static FakeIam iam;
  static RunningOperator operator;

  @BeforeAll
  static void setUp() throws Exception {
    client = LocalCluster.client();
    kueue = KueueController.start();
    bucket = gcs.server().newBucket("kueuedata");
    ns = LocalCluster.tenantNamespace("kueue", "*@proj-1.iam.gserviceaccount.com", bucket);
    TrainerOutput.writeTrainingData(gcs.server().objectStore(), bucket);
    clusterQueue = "ft-" + ns;
    apply(
        """
        apiVersion: kueue.x-k8s.io/v1beta2
        kind: ResourceFlavor
        metadata: {name: %1$s}
        ---
        apiVersion: kueue.x-k8s.io/v1beta2
        kind: ClusterQueue
        metadata: {name: %1$s}
        spec:
          namespaceSelector:
            matchLabels: {kubernetes.io/metadata.name: %2$s}
          resourceGroups:
          - coveredResources: [cpu, memory, ephemeral-storage, nvidia.com/gpu]
            flavors:
            - name: %1$s
              resources:
              - {name: cpu, nominalQuota: "8"}
              - {name: memory, nominalQuota: 32Gi}
              - {name: ephemeral-storage, nominalQuota: 200Gi}
              - {name: nvidia.com/gpu, nominalQuota: "1"}
        ---
        apiVersion: kueue.x-k8s.io/v1beta2
        kind: LocalQueue
        metadata: {name: %3$s, namespace: %2$s}
        spec: {clusterQueue: %1$s}
        """
            .formatted(clusterQueue, ns, QUEUE));
    gke = FakeClusterManager.start();
    iam = FakeIam.start();
    operator =
        new RunningOperator(
                ns,
                gcs.server().endpoint(),
                Map.of(),
                RunningOperator.standIns(gcs.server(), gke, iam))
            .start();
  }

  @AfterAll
  static void tearDown() {
    if (operator != null) {
      operator.close();
    }
    if (kueue != null) {
      kueue.close();
    }
    if (gke != null) {
      gke.close();
    }
    if (iam != null) {
      iam.close();
    }
    if (clusterQueue != null) {
      for (String kind : List.of("clusterqueues", "resourceflavors")) {
        client
            .genericKubernetesResources(
                new ResourceDefinitionContext.Builder()
                    .withGroup("kueue.x-k8s.io")
                    .withVersion("v1beta2")
                    .withPlural(kind)
                    .withNamespaced(false)
                    .build())
            .withName(clusterQueue)
            .delete();
      }
    }
  }

  static void apply(String yaml) {
    for (String doc : yaml.split("(?m)^---$")) {
      client.resource(doc).fieldManager("kueue-it").forceConflicts().serverSideApply();
    }
  }

  static FineTuneJob job(String name, String queue, boolean hold) throws Exception {
    FineTuneJob job = Fixtures.job(ns, name);
    job.getMetadata().setUid(null);
    job.getMetadata().setGeneration(null);
    if (hold) {
      job.getMetadata().setLabels(Map.of(HOLD, "true"));
    }
    job.getSpec().queue = queue;
    job.getSpec().dataset.train = "gs://" + bucket + "/train.jsonl";
    job.getSpec().dataset.validation = null;
    job.getSpec().output = "gs://" + bucket + "/runs/" + name + "/";
    TrainerOutput.writeFinishedRun(gcs.server().objectStore(), bucket, name);
    return job;
  }

  static FineTuneJob get(String name) {
    return client.resources(FineTuneJob.class).inNamespace(ns).withName(name).get();
  }

  static String condition(String name, String type) {
    FineTuneJob j = get(name);
    return j == null || j.getStatus() == null
        ? null
        : Conditions.get(j.getStatus(), type)
            .map(c -> c.getStatus() + "/" + c.getReason())
            .orElse(null);
  }

  static String queueState(String name) {
    FineTuneJob j = get(name);
    return j == null
            || j.getStatus() == null
            || j.getStatus().training == null
            || j.getStatus().training.queue == null
        ? null
        : j.getStatus().training.queue.state;
  }

  static Job trainerJob(String name) {
    return client.batch().v1().jobs().inNamespace(ns).withName(name + "-trainer").get();
  }

  static List<Pod> pods(String name) {
    return client.pods().inNamespace(ns).withLabel("finetune.dev/job-name", name).list().getItems();
  }

  static GenericKubernetesResource workload(Job job) {
    return client
        .genericKubernetesResources(WORKLOADS)
        .inNamespace(ns)
        .withLabel("kueue.x-k8s.io/job-uid", job.getMetadata().getUid())
        .list()
        .getItems()
        .stream()
        .findFirst()
        .orElse(null);
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> workloadCondition(GenericKubernetesResource w, String type) {
    Object status = w.getAdditionalProperties().get("status");
    if (!(status instanceof Map<?, ?> s) || !(s.get("conditions") instanceof List<?> l)) {
      return null;
    }
    return l.stream()
        .map(c -> (Map<String, Object>) c)
        .filter(c -> type.equals(c.get("type")))
        .findFirst()
        .orElse(null);
  }

  static List<Event> events(String name, String reason) {
    return client.v1().events().inNamespace(ns).list().getItems().stream()
        .filter(e -> name.equals(e.getInvolvedObject().getName()))
        .filter(e -> reason.equals(e.getReason()))
        .toList();
  }

  static FineTuneJob awaitPhase(String name, Phase phase) {
    await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(250))
        .untilAsserted(
            () -> {
              FineTuneJob j = get(name);
              assertThat(j.getStatus()).isNotNull();
              assertThat(j.getStatus().phase)
                  .as("phase; message: %s", j.getStatus().message)
                  .isEqualTo(phase);
            });
    return get(name);
  }

  @Test
  @Order(1)
  void theSecondJobWaitsQueuedWhileTheFirstTrainsThenRunsAndBothSucceed() throws Exception {
    client.resource(job("first", QUEUE, true)).create();
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              assertThat(queueState("first")).isEqualTo("Admitted");
              assertThat(pods("first")).hasSize(1);
              assertThat(pods("first").get(0).getStatus().getPhase()).isEqualTo("Running");
            });
    FineTuneJob first = get("first");
    assertThat(first.getStatus().phase).isEqualTo(Phase.Training);
    assertThat(condition("first", Conditions.CAPACITY_READY)).isEqualTo("True/Admitted");
    assertThat(first.getStatus().training.queue.clusterQueue).isEqualTo(clusterQueue);
    assertThat(first.getStatus().training.queue.localQueue).isEqualTo(QUEUE);
    Job firstJob = trainerJob("first");
    // Kueue unsuspended it; the Job was created suspended and labelled for the queue.
    assertThat(firstJob.getSpec().getSuspend()).isFalse();
    assertThat(firstJob.getMetadata().getLabels())
        .containsEntry("kueue.x-k8s.io/queue-name", QUEUE);
    assertThat(workloadCondition(workload(firstJob), "Admitted")).containsEntry("status", "True");

    client.resource(job("second", QUEUE, false)).create();
    // Kueue looks at the second Workload and finds no GPU quota left.
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              Job j = trainerJob("second");
              assertThat(j).isNotNull();
              GenericKubernetesResource w = workload(j);
              assertThat(w).isNotNull();
              Map<String, Object> reserved = workloadCondition(w, "QuotaReserved");
              assertThat(reserved).isNotNull().containsEntry("status", "False");
              assertThat((String) reserved.get("message")).contains("nvidia.com/gpu");
              assertThat(get("second").getStatus().message)
                  .contains("waiting for Kueue to admit the trainer in LocalQueue " + QUEUE)
                  .contains((String) reserved.get("message"));
            });
    FineTuneJob second = get("second");
    Job secondJob = trainerJob("second");
    assertThat(secondJob.getSpec().getSuspend()).isTrue();
    assertThat(workloadCondition(workload(secondJob), "Admitted"))
        .satisfiesAnyOf(
            c -> assertThat(c).isNull(), c -> assertThat(c).containsEntry("status", "False"));
    assertThat(second.getStatus().phase).isEqualTo(Phase.Provisioning);
    assertThat(condition("second", Conditions.CAPACITY_READY)).isEqualTo("False/Queued");
    assertThat(second.getStatus().training.queue.state).isEqualTo("Queued");
    assertThat(second.getStatus().training.queue.clusterQueue).isEqualTo(clusterQueue);
    assertThat(second.getStatus().training.queue.workload)
        .isEqualTo(workload(secondJob).getMetadata().getName());
    assertThat(pods("second")).isEmpty();
    assertThat(LocalCluster.kubectl(List.of("get", "ftj", "second", "-n", ns)))
        .contains("Provisioning")
        .contains("Queued");

    // The first trainer finishes: Kueue releases its quota and admits the second.
    LocalCluster.succeedPod(ns, pods("first").get(0));
    FineTuneJob firstDone = awaitPhase("first", Phase.Succeeded);
    FineTuneJob secondDone = awaitPhase("second", Phase.Succeeded);
    assertThat(trainerJob("second").getSpec().getSuspend()).isFalse();
    assertThat(secondDone.getStatus().training.queue.state).isEqualTo("Admitted");
    assertThat(secondDone.getStatus().training.queue.admissions).isEqualTo(1);
    assertThat(secondDone.getStatus().training.attempts).isEqualTo(1);
    assertThat(firstDone.getStatus().training.attempts).isEqualTo(1);
    assertThat(Conditions.get(secondDone.getStatus(), Conditions.CAPACITY_READY).get().getReason())
        .isEqualTo("Admitted");

    // Time spent queued is no GPU time: only the second pod's own run counts.
    Pod pod = pods("second").get(0);
    Instant started = Instant.parse(pod.getStatus().getStartTime());
    Instant finished =
        Instant.parse(
            pod.getStatus()
                .getContainerStatuses()
                .get(0)
                .getState()
                .getTerminated()
                .getFinishedAt());
    double ran = Duration.between(started, finished).toMillis() / 1000.0;
    Instant queuedAt = Instant.parse(second.getStatus().training.queue.queuedSince);
    assertThat(Duration.between(queuedAt, started).toSeconds()).isPositive();
    assertThat(secondDone.getStatus().training.gpuSeconds).isLessThanOrEqualTo(ran + 1.0);

    // One Event per change.
    assertThat(events("second", "Queued")).hasSize(1);
    assertThat(events("second", "Admitted")).hasSize(1);
    assertThat(events("first", "Admitted")).hasSize(1);
  }

  @Test
  @Order(2)
  void aLocalQueueThatDoesNotExistIsAClearConditionNotAFailure() throws Exception {
    client.resource(job("lost", "no-such-queue", false)).create();
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              assertThat(condition("lost", Conditions.CAPACITY_READY))
                  .isEqualTo("False/QueueNotFound");
              assertThat(get("lost").getStatus().message)
                  .contains("Kueue LocalQueue no-such-queue does not exist in namespace " + ns);
              // Kueue's own words on the inadmissible Workload.
              assertThat(get("lost").getStatus().training.queue.message).isNotBlank();
            });
    assertThat(get("lost").getStatus().phase).isEqualTo(Phase.Provisioning);
    assertThat(trainerJob("lost").getSpec().getSuspend()).isTrue();
    assertThat(events("lost", "QueueNotFound")).hasSize(1);
    client.resource(get("lost")).delete();
  }

  @Test
  @Order(3)
  void aTrainerSuspendedAgainByKueueWaitsAndResumesWhenReadmitted() throws Exception {
    client.resource(job("evicted", QUEUE, true)).create();
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              assertThat(queueState("evicted")).isEqualTo("Admitted");
              assertThat(pods("evicted")).hasSize(1);
              assertThat(pods("evicted").get(0).getStatus().getPhase()).isEqualTo("Running");
            });
    String firstPod = pods("evicted").get(0).getMetadata().getUid();
    // A cluster admin deactivates the Workload: Kueue evicts it and suspends the Job again.
    GenericKubernetesResource w = workload(trainerJob("evicted"));
    client
        .genericKubernetesResources(WORKLOADS)
        .inNamespace(ns)
        .withName(w.getMetadata().getName())
        .edit(
            x -> {
              @SuppressWarnings("unchecked")
              Map<String, Object> spec =
                  (Map<String, Object>) x.getAdditionalProperties().get("spec");
              spec.put("active", false);
              return x;
            });
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              assertThat(trainerJob("evicted").getSpec().getSuspend()).isTrue();
              assertThat(pods("evicted")).isEmpty();
              FineTuneJob j = get("evicted");
              assertThat(j.getStatus().phase).isEqualTo(Phase.Provisioning);
              assertThat(j.getStatus().training.queue.state).isEqualTo("Queued");
              assertThat(j.getStatus().training.preemptions).isEqualTo(1);
              assertThat(j.getStatus().message).contains("waiting for Kueue");
            });
    assertThat(get("evicted").getStatus().training.failures).isZero();
    assertThat(condition("evicted", Conditions.TRAINING_COMPLETE)).isEqualTo("False/Queued");

    // Active again: Kueue admits it once more, and a new pod resumes the run.
    client
        .genericKubernetesResources(WORKLOADS)
        .inNamespace(ns)
        .withName(w.getMetadata().getName())
        .edit(
            x -> {
              @SuppressWarnings("unchecked")
              Map<String, Object> spec =
                  (Map<String, Object>) x.getAdditionalProperties().get("spec");
              spec.put("active", true);
              return x;
            });
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              assertThat(queueState("evicted")).isEqualTo("Admitted");
              assertThat(pods("evicted")).hasSize(1);
              assertThat(pods("evicted").get(0).getMetadata().getUid()).isNotEqualTo(firstPod);
            });
    LocalCluster.succeedPod(ns, pods("evicted").get(0));
    FineTuneJob done = awaitPhase("evicted", Phase.Succeeded);
    assertThat(done.getStatus().training.queue.admissions).isEqualTo(2);
    assertThat(done.getStatus().training.attempts).isEqualTo(2);
    assertThat(done.getStatus().training.preemptions).isEqualTo(1);
    assertThat(done.getStatus().training.failures).isZero();
    assertThat(events("evicted", "Admitted")).hasSize(2);
    assertThat(events("evicted", "Queued")).hasSize(2);
  }
}
