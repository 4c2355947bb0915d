package dev.finetune.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.api.v1alpha1.HardwareSpec;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.capacity.CapacityApis;
import dev.finetune.operator.capacity.CapacityPriority;
import dev.finetune.operator.capacity.ComputeClasses;
import dev.finetune.operator.cost.PriceTable;
import dev.finetune.operator.gcp.iam.FakeIam;
import dev.finetune.operator.gcp.nodepool.Accelerator;
import dev.finetune.operator.gcp.nodepool.FakeClusterManager;
import dev.finetune.operator.gcp.storage.FakeGcsServerExtension;
import dev.finetune.operator.reconcile.Conditions;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodTemplate;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Taint;
import io.fabric8.kubernetes.api.model.TaintBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * hardware.provisioning computeClass and flexStart against the real API server with the real
 * ProvisioningRequest CRD of the cluster autoscaler and a ComputeClass schema. The test plays GKE:
 * it adds the kwok node a ComputeClass or a provisioned request would bring, and, for flex-start,
 * sets the request's conditions as the cluster autoscaler does.
 */
class ComputeClassAndFlexStartIT {
  static final Duration WAIT = Duration.ofSeconds(120);
  static final String HOLD = "kwok.finetune.dev/hold";
  static final String RESERVATION = "team-a-h100";
  static final String CLASS = "finetune-nvidia-h100-80gb-x8";

  @RegisterExtension static FakeGcsServerExtension gcs = new FakeGcsServerExtension();

  static KubernetesClient client;
  static String ns;
  static String bucket;
  static FakeClusterManager gke;
  static FakeIam iam;
  static RunningOperator operator;
  static final List<String> nodes = new ArrayList<>();

  @BeforeAll
  static void setUp() throws Exception {
    client = LocalCluster.client();
    CapacityCrds.install(client);
    bucket = gcs.server().newBucket("ccdata");
    ns = LocalCluster.tenantNamespace("cc", "*@proj-1.iam.gserviceaccount.com", bucket);
    TrainerOutput.writeTrainingData(gcs.server().objectStore(), bucket);
    gke = FakeClusterManager.start();
    iam = FakeIam.start();
    operator =
        new RunningOperator(
                ns,
                gcs.server().endpoint(),
                Map.of(
                    "FINETUNE_COMPUTE_CLASS_PRIORITIES",
                    "reservation:" + RESERVATION + ",spot,on-demand,flex-start",
                    "FINETUNE_TRAINER_REQUESTS",
                    "none"),
                RunningOperator.standIns(gcs.server(), gke, iam))
            .start();
  }

  @AfterAll
  static void tearDown() {
    if (operator != null) {
      // Deleted while the operator runs, so that their finalizers go and nothing is left behind.
      client.resources(FineTuneJob.class).inNamespace(ns).delete();
      await()
          .atMost(WAIT)
          .until(
              () ->
                  client.resources(FineTuneJob.class).inNamespace(ns).list().getItems().isEmpty());
      operator.close();
    }
    for (String n : nodes) {
      client.nodes().withName(n).delete();
    }
    if (gke != null) {
      gke.close();
    }
    if (iam != null) {
      iam.close();
    }
  }

  static FineTuneJob job(
      String name, HardwareSpec.Accelerator accelerator, int gpus, HardwareSpec.Provisioning mode) {
    FineTuneJob job = Fixtures.job(ns, name);
    job.getMetadata().setUid(null);
    job.getMetadata().setGeneration(null);
    job.getSpec().dataset.train = "gs://" + bucket + "/train.jsonl";
    job.getSpec().dataset.validation = null;
    job.getSpec().output = "gs://" + bucket + "/runs/" + name + "/";
    job.getSpec().hardware.accelerator = accelerator;
    job.getSpec().hardware.count = gpus;
    job.getSpec().hardware.provisioning = mode;
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

  static List<Pod> pods(String name) {
    return client.pods().inNamespace(ns).withLabel("finetune.dev/job-name", name).list().getItems();
  }

  /** A kwok GPU node as GKE brings it up, with these labels and taints. */
  static void node(String name, String accelerator, Map<String, String> extra, List<Taint> taints) {
    Map<String, String> labels = new LinkedHashMap<>();
    labels.put("type", "kwok");
    labels.put("cloud.google.com/gke-accelerator", accelerator);
    labels.putAll(extra);
    List<Taint> all = new ArrayList<>(taints);
    all.add(taint("nvidia.com/gpu", "present"));
    Map<String, Quantity> capacity =
        Map.of(
            "cpu", new Quantity("96"),
            "memory", new Quantity("384Gi"),
            "pods", new Quantity("110"),
            "nvidia.com/gpu", new Quantity("8"));
    Node node =
        new NodeBuilder()
            .withNewMetadata()
            .withName(name)
            .withAnnotations(Map.of("kwok.x-k8s.io/node", "fake"))
            .withLabels(labels)
            .endMetadata()
            .withNewSpec()
            .withTaints(all)
            .endSpec()
            .withNewStatus()
            .withCapacity(capacity)
            .withAllocatable(capacity)
            .endStatus()
            .build();
    client.nodes().resource(node).create();
    nodes.add(name);
  }

  static Taint taint(String key, String value) {
    return new TaintBuilder().withKey(key).withValue(value).withEffect("NoSchedule").build();
  }

  /** `kubectl create --dry-run=server --validate=strict`: what the API server says of it. */
  static String dryRunStrict(Object object) throws Exception {
    Path f = Files.createTempFile("dry-run", ".yaml");
    Files.writeString(
        f, client.getKubernetesSerialization().asYaml(object), StandardCharsets.UTF_8);
    return LocalCluster.kubectl(
        List.of("create", "--dry-run=server", "--validate=strict", "-f", f.toString()));
  }

  @Test
  void theComputeClassSchemaRefusesAMisspelledField() throws Exception {
    GenericKubernetesResource good =
        ComputeClasses.desired(
            "nvidia-l4",
            1,
            CapacityPriority.parseList("reservation:r1,spot,on-demand,flex-start"),
            "LATEST");
    assertThat(dryRunStrict(good)).contains("created (server dry run)");
    GenericKubernetesResource bad =
        ComputeClasses.desired("nvidia-l4", 1, List.of(new CapacityPriority.Spot()), "LATEST");
    @SuppressWarnings("unchecked")
    Map<String, Object> spec = (Map<String, Object>) bad.getAdditionalProperties().get("spec");
    @SuppressWarnings("unchecked")
    Map<String, Object> rule =
        new LinkedHashMap<>(((List<Map<String, Object>>) spec.get("priorities")).get(0));
    rule.put("spott", true);
    spec.put("priorities", List.of(rule));
    assertThatThrownBy(() -> dryRunStrict(bad)).hasMessageContaining("unknown field");
  }

  @Test
  void aComputeClassJobGetsTheAdminsClassAndIsPricedAtTheCapacityItsNodeIs() throws Exception {
    FineTuneJob ftj =
        job(
            "cc-job",
            HardwareSpec.Accelerator.NVIDIA_H100_80GB,
            8,
            HardwareSpec.Provisioning.COMPUTE_CLASS);
    ftj.getSpec().hardware.spot = true; // asked for, but the class's priorities decide
    ftj.getMetadata().setLabels(Map.of(HOLD, "true"));
    client.resource(ftj).create();
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(condition("cc-job", Conditions.CAPACITY_READY))
                    .isEqualTo("True/ComputeClassApplied"));
    assertThat(get("cc-job").getStatus().hardware.computeClass).isEqualTo(CLASS);

    GenericKubernetesResource cc = CapacityApis.computeClasses(client).withName(CLASS).get();
    assertThat(cc.getMetadata().getLabels())
        .containsEntry("app.kubernetes.io/managed-by", "finetune-operator");
    assertThat(cc.getMetadata().getOwnerReferences()).isNullOrEmpty();
    @SuppressWarnings("unchecked")
    Map<String, Object> spec = (Map<String, Object>) cc.getAdditionalProperties().get("spec");
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> rules = (List<Map<String, Object>>) spec.get("priorities");
    assertThat(rules).hasSize(4);
    assertThat(rules.get(0).get("reservations"))
        .isEqualTo(
            Map.of("affinity", "Specific", "specific", List.of(Map.of("name", RESERVATION))));
    assertThat(rules.get(1)).containsEntry("spot", true);
    assertThat(rules.get(3)).containsEntry("flexStart", Map.of("enabled", true));
    assertThat(rules.get(0).get("gpu"))
        .isEqualTo(Map.of("type", "nvidia-h100-80gb", "count", 8, "driverVersion", "latest"));
    assertThat(spec.get("nodePoolAutoCreation")).isEqualTo(Map.of("enabled", true));

    // The pod selects the class; GKE would bring a node of it: from the reservation.
    await().atMost(WAIT).until(() -> pods("cc-job").size() == 1);
    Pod pod = pods("cc-job").get(0);
    assertThat(pod.getSpec().getNodeSelector())
        .isEqualTo(Map.of("cloud.google.com/compute-class", CLASS));
    assertThat(pod.getSpec().getNodeName()).isNull();
    String nodeName = "cc-reserved-" + ProcessHandle.current().pid();
    node(
        nodeName,
        "nvidia-h100-80gb",
        Map.of(
            "cloud.google.com/compute-class", CLASS,
            "cloud.google.com/reservation-name", RESERVATION,
            "cloud.google.com/gke-spot", "false"),
        List.of(taint("cloud.google.com/compute-class", CLASS)));
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              FineTuneJobStatus.HardwareStatus hw = get("cc-job").getStatus().hardware;
              assertThat(hw.node).isEqualTo(nodeName);
              assertThat(hw.capacity).isEqualTo("reservation");
              assertThat(hw.reservation).isEqualTo(RESERVATION);
            });
    // Let it run a while (priced time), then the trainer exits 0.
    Pod running = pods("cc-job").get(0);
    Instant started = Instant.parse(running.getStatus().getStartTime());
    await().atMost(WAIT).until(() -> Duration.between(started, Instant.now()).toSeconds() >= 20);
    LocalCluster.succeedPod(ns, running);
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(
                        Conditions.isTrue(get("cc-job").getStatus(), Conditions.TRAINING_COMPLETE))
                    .isTrue());
    FineTuneJobStatus.CostStatus cost = get("cc-job").getStatus().cost;
    PriceTable.Price h100 = PriceTable.defaults().price(Accelerator.NVIDIA_H100_80GB);
    assertThat(cost.gpuHours).isGreaterThanOrEqualTo(8 * 20 / 3600.0 - 0.001);
    // A reservation is paid at on-demand rates, not at the spot price the job asked for.
    assertThat(cost.estimatedUsd / cost.gpuHours)
        .isBetween(h100.perGpuHour(false) * 0.95, h100.perGpuHour(false) * 1.05);
  }

  @SuppressWarnings("unchecked")
  static void setRequestConditions(String name, Map<String, String>... conditions) {
    var requests = CapacityApis.provisioningRequests(client).inNamespace(ns);
    GenericKubernetesResource pr = requests.withName(name).get();
    List<Map<String, Object>> list = new ArrayList<>();
    for (Map<String, String> c : conditions) {
      Map<String, Object> m = new LinkedHashMap<>(c);
      m.put("lastTransitionTime", Instant.now().toString().replaceAll("\\.\\d+Z$", "Z"));
      list.add(m);
    }
    pr.setAdditionalProperty("status", Map.of("conditions", list));
    requests.resource(pr).updateStatus();
  }

  static Map<String, String> cond(String type, String status, String reason, String message) {
    return Map.of("type", type, "status", status, "reason", reason, "message", message);
  }

  @Test
  void aFlexStartJobWaitsSuspendedUntilItsRequestIsProvisionedThenRuns() throws Exception {
    FineTuneJob ftj =
        job(
            "flex-job",
            HardwareSpec.Accelerator.NVIDIA_L4,
            1,
            HardwareSpec.Provisioning.FLEX_START);
    ftj.getSpec().hardware.maxRuntime = "2h";
    FineTuneJob created = client.resource(ftj).create();
    String request = "flex-job-trainer";
    await()
        .atMost(WAIT)
        .until(
            () ->
                CapacityApis.provisioningRequests(client).inNamespace(ns).withName(request).get()
                        != null
                    && client.batch().v1().jobs().inNamespace(ns).withName(request).get() != null);
    GenericKubernetesResource pr =
        CapacityApis.provisioningRequests(client).inNamespace(ns).withName(request).get();
    assertThat(pr.getMetadata().getOwnerReferences().get(0).getUid())
        .isEqualTo(created.getMetadata().getUid());
    @SuppressWarnings("unchecked")
    Map<String, Object> spec = (Map<String, Object>) pr.getAdditionalProperties().get("spec");
    assertThat(spec)
        .containsEntry("provisioningClassName", "queued-provisioning.gke.io")
        .containsEntry("parameters", Map.of("maxRunDurationSeconds", "7200"));
    PodTemplate template = client.v1().podTemplates().inNamespace(ns).withName(request).get();
    assertThat(template.getMetadata().getOwnerReferences().get(0).getUid())
        .isEqualTo(created.getMetadata().getUid());
    assertThat(template.getTemplate().getSpec().getNodeSelector())
        .containsEntry("cloud.google.com/gke-flex-start", "true");

    Job trainer = client.batch().v1().jobs().inNamespace(ns).withName(request).get();
    assertThat(trainer.getSpec().getSuspend()).isTrue();
    assertThat(trainer.getSpec().getTemplate().getMetadata().getAnnotations())
        .containsEntry("autoscaling.x-k8s.io/consume-provisioning-request", request)
        .containsEntry(
            "autoscaling.x-k8s.io/provisioning-class-name", "queued-provisioning.gke.io");

    // The autoscaler accepts it; there is no capacity yet.
    setRequestConditions(
        request,
        cond("Accepted", "True", "Accepted", "the request is queued"),
        cond("Provisioned", "False", "CapacityIsNotFound", "waiting for 1 x nvidia-l4"));
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              Condition c =
                  Conditions.get(get("flex-job").getStatus(), Conditions.CAPACITY_READY).get();
              assertThat(c.getReason()).isEqualTo("WaitingForProvisioning");
              assertThat(c.getMessage()).contains("waiting for 1 x nvidia-l4");
            });
    assertThat(get("flex-job").getStatus().phase).isEqualTo(Phase.Training);
    assertThat(pods("flex-job")).isEmpty();
    await().atMost(WAIT).until(() -> events("flex-job", "WaitingForProvisioning").size() == 1);

    // Capacity is found: the node comes up and the request is Provisioned.
    String nodeName = "flex-l4-" + ProcessHandle.current().pid();
    node(
        nodeName,
        "nvidia-l4",
        Map.of("cloud.google.com/gke-flex-start", "true", "cloud.google.com/gke-queued", "true"),
        List.of(taint("cloud.google.com/gke-queued", "true")));
    setRequestConditions(
        request,
        cond("Accepted", "True", "Accepted", "the request is queued"),
        cond("Provisioned", "True", "Provisioned", "1 node of nvidia-l4 is ready"));
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              assertThat(
                      client
                          .batch()
                          .v1()
                          .jobs()
                          .inNamespace(ns)
                          .withName(request)
                          .get()
                          .getSpec()
                          .getSuspend())
                  .isFalse();
              assertThat(condition("flex-job", Conditions.CAPACITY_READY))
                  .isEqualTo("True/Provisioned");
            });
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              FineTuneJob j = get("flex-job");
              assertThat(Conditions.isTrue(j.getStatus(), Conditions.TRAINING_COMPLETE)).isTrue();
              assertThat(j.getStatus().hardware.capacity).isEqualTo("flex-start");
              assertThat(j.getStatus().hardware.node).isEqualTo(nodeName);
            });
    assertThat(events("flex-job", "CapacityAvailable")).hasSize(1);
  }

  @Test
  void aFailedRequestFailsTheJobWithTheRequestsWords() {
    FineTuneJob ftj =
        job(
            "flex-fail",
            HardwareSpec.Accelerator.NVIDIA_L4,
            1,
            HardwareSpec.Provisioning.FLEX_START);
    client.resource(ftj).create();
    String request = "flex-fail-trainer";
    await()
        .atMost(WAIT)
        .until(
            () ->
                CapacityApis.provisioningRequests(client).inNamespace(ns).withName(request).get()
                        != null
                    && condition("flex-fail", Conditions.CAPACITY_READY) != null
                    && condition("flex-fail", Conditions.CAPACITY_READY)
                        .equals("False/WaitingForProvisioning"));
    setRequestConditions(
        request,
        cond(
            "Failed",
            "True",
            "ResourcePoolExhausted",
            "no nvidia-l4 capacity in us-central1 within the request's time"));
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              FineTuneJob j = get("flex-fail");
              assertThat(j.getStatus().phase).isEqualTo(Phase.Failed);
              Condition c = Conditions.get(j.getStatus(), Conditions.CAPACITY_READY).get();
              assertThat(c.getReason()).isEqualTo("ProvisioningFailed");
              assertThat(c.getMessage())
                  .contains("ProvisioningRequest flex-fail-trainer is Failed")
                  .contains("no nvidia-l4 capacity in us-central1");
            });
    assertThat(
            client
                .batch()
                .v1()
                .jobs()
                .inNamespace(ns)
                .withName(request)
                .get()
                .getSpec()
                .getSuspend())
        .isTrue();
    assertThat(pods("flex-fail")).isEmpty();
  }

  static List<Event> events(String job, String reason) {
    return client.v1().events().inNamespace(ns).list().getItems().stream()
        .filter(e -> job.equals(e.getInvolvedObject().getName()))
        .filter(e -> reason.equals(e.getReason()))
        .toList();
  }
}
