package dev.finetune.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import dev.finetune.api.v1alpha1.EvaluationSpec;
import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.Phase;
import dev.finetune.api.v1alpha1.HardwareSpec;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.gcp.iam.FakeIam;
import dev.finetune.operator.gcp.nodepool.FakeClusterManager;
import dev.finetune.operator.gcp.storage.FakeGcsServerExtension;
import dev.finetune.operator.gcp.storage.GcsUri;
import dev.finetune.operator.reconcile.Conditions;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole Kubernetes side of a run against the local control plane: dataset validation against
 * fake-gcs-server with the real Cloud Storage client, the children, the real scheduler placing the
 * trainer on a simulated GPU node, kwok running the pod, failure, preemption, restart, deletion.
 */
class TrainingFlowIT {
  static final String GSA = "trainer@proj-1.iam.gserviceaccount.com";
  static final String HOLD = "kwok.finetune.dev/hold";
  static final Duration WAIT = Duration.ofSeconds(90);

  @RegisterExtension static FakeGcsServerExtension gcs = new FakeGcsServerExtension();

  static KubernetesClient client;
  static String ns;
  static String bucket;
  static RunningOperator operator;
  static FakeClusterManager gke;
  static FakeIam iam;

  @BeforeAll
  static void setUp() throws Exception {
    client = LocalCluster.client();
    bucket = gcs.server().newBucket("ftdata");
    ns =
        LocalCluster.namespace(
            "flow",
            Map.of(
                "finetune.dev/allowed-gcp-service-accounts",
                GSA + ", other@proj-1.iam.gserviceaccount.com",
                "finetune.dev/allowed-gcs-prefixes",
                "gs://" + bucket));
    put("train.jsonl", validGemini(40));
    put("eval.jsonl", validGemini(8));
    put(
        "broken.jsonl",
        validGemini(2)
            + "{\"contents\": [{\"role\": \"user\", \"parts\": [{\"text\": \"hi\"}]}, {\"role\": \"user\", \"parts\": [{\"text\": \"again\"}]}]}\n"
            + "not json\n");
    gke = FakeClusterManager.start();
    iam = FakeIam.start();
    operator = newOperator().start();
  }

  static RunningOperator newOperator() {
    return new RunningOperator(
        ns, gcs.server().endpoint(), Map.of(), RunningOperator.standIns(gcs.server(), gke, iam));
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

  static void put(String name, String content) throws Exception {
    gcs.server()
        .objectStore()
        .write(GcsUri.of(bucket, "data/" + name), content.getBytes(StandardCharsets.UTF_8));
  }

  static String validGemini(int n) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      sb.append(
          "{\"systemInstruction\": {\"parts\": [{\"text\": \"Answer as JSON.\"}]}, \"contents\": ["
              + "{\"role\": \"user\", \"parts\": [{\"text\": \"name: Ada "
              + i
              + "; city: Paris\"}]},"
              + "{\"role\": \"model\", \"parts\": [{\"text\": \"{\\\"name\\\": \\\"Ada "
              + i
              + "\\\", \\\"city\\\": \\\"Paris\\\"}\"}]}]}\n");
    }
    return sb.toString();
  }

  static FineTuneJob job(String name) {
    FineTuneJob job = Fixtures.job(ns, name);
    job.getMetadata().setUid(null);
    job.getMetadata().setGeneration(null);
    job.getSpec().dataset.train = "gs://" + bucket + "/data/train.jsonl";
    job.getSpec().dataset.validation = "gs://" + bucket + "/data/eval.jsonl";
    job.getSpec().output = "gs://" + bucket + "/runs/" + name + "/";
    return job;
  }

  static FineTuneJob withGate(
      FineTuneJob job, EvaluationSpec.Metric metric, Double minScore, Double minImprovement) {
    job.getSpec().evaluation = new EvaluationSpec();
    job.getSpec().evaluation.gate = new EvaluationSpec.GateSpec();
    job.getSpec().evaluation.gate.metric = metric;
    job.getSpec().evaluation.gate.minScore = minScore;
    job.getSpec().evaluation.gate.minImprovement = minImprovement;
    return job;
  }

  static FineTuneJob create(FineTuneJob job) {
    return client.resource(job).create();
  }

  static FineTuneJob get(String name) {
    return client.resources(FineTuneJob.class).inNamespace(ns).withName(name).get();
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

  static FineTuneJob awaitTrained(String name) {
    await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(250))
        .untilAsserted(
            () ->
                assertThat(Conditions.isTrue(get(name).getStatus(), Conditions.TRAINING_COMPLETE))
                    .as("TrainingComplete; message: %s", get(name).getStatus().message)
                    .isTrue());
    return get(name);
  }

  /** What the trainer writes: predictions of both models, the adapter and the manifest. */
  static void writePredictions(String name, int n, boolean tunedLearned) throws Exception {
    writePredictions(name, n, tunedLearned, true);
  }

  /** The adapter files and manifest.json the trainer writes at the end of a run. */
  static void writeArtifacts(String name) throws Exception {
    TrainerOutput.writeArtifacts(gcs.server().objectStore(), bucket, name);
  }

  static void writePredictions(String name, int n, boolean tunedLearned, boolean artifacts)
      throws Exception {
    if (artifacts) {
      writeArtifacts(name);
    }
    ObjectMapper json = new ObjectMapper();
    StringBuilder base = new StringBuilder();
    StringBuilder tuned = new StringBuilder();
    for (int i = 0; i < n; i++) {
      String ref = json.writeValueAsString(Map.of("name", "Ada " + i, "city", "Paris"));
      base.append(
              json.writeValueAsString(
                  Map.of(
                      "id",
                      "eval-" + i,
                      "reference",
                      ref,
                      "prediction",
                      "Sure! The person is Ada who lives somewhere.")))
          .append('\n');
      tuned
          .append(
              json.writeValueAsString(
                  Map.of(
                      "id",
                      "eval-" + i,
                      "reference",
                      ref,
                      "prediction",
                      tunedLearned ? ref : "Ada lives in Paris")))
          .append('\n');
    }
    var store = gcs.server().objectStore();
    String prefix = "gs://" + bucket + "/runs/" + name + "/predictions/";
    store.write(
        GcsUri.parse(prefix + "baseline.jsonl"), base.toString().getBytes(StandardCharsets.UTF_8));
    store.write(
        GcsUri.parse(prefix + "tuned.jsonl"), tuned.toString().getBytes(StandardCharsets.UTF_8));
  }

  static List<Pod> pods(String name) {
    return client.pods().inNamespace(ns).withLabel("finetune.dev/job-name", name).list().getItems();
  }

  static Pod awaitRunningPod(String name, int count) {
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(pods(name))
                    .hasSize(count)
                    .anyMatch(p -> "Running".equals(p.getStatus().getPhase())));
    return pods(name).stream()
        .filter(p -> "Running".equals(p.getStatus().getPhase()))
        .findFirst()
        .orElseThrow();
  }

  static void endPod(Pod pod, String phase, int exitCode, String message, boolean preempted) {
    Pod fresh = client.pods().inNamespace(ns).withName(pod.getMetadata().getName()).get();
    var status = fresh.getStatus();
    status.setPhase(phase);
    if (preempted) {
      status
          .getConditions()
          .add(
              new PodConditionBuilder()
                  .withType("DisruptionTarget")
                  .withStatus("True")
                  .withReason("TerminationByKubelet")
                  .withMessage("Pod was terminated in response to imminent node shutdown.")
                  .withLastTransitionTime(Instant.now().toString())
                  .build());
    }
    status.setContainerStatuses(
        List.of(
            new ContainerStatusBuilder()
                .withName("trainer")
                .withImage(fresh.getSpec().getContainers().get(0).getImage())
                .withReady(false)
                .withRestartCount(0)
                .withNewState()
                .withNewTerminated()
                .withExitCode(exitCode)
                .withReason(exitCode == 0 ? "Completed" : "Error")
                .withMessage(message)
                .withStartedAt(Instant.now().minusSeconds(60).toString())
                .withFinishedAt(Instant.now().toString())
                .endTerminated()
                .endState()
                .build()));
    client.pods().inNamespace(ns).resource(fresh).updateStatus();
  }

  @Test
  void aValidJobRunsOnAGpuNodeOfItsAcceleratorAndCompletesTraining() throws Exception {
    writePredictions("happy", 8, true);
    TrainerOutput.writeHistory(gcs.server().objectStore(), bucket, "happy", 12);
    FineTuneJob happy = withGate(job("happy"), EvaluationSpec.Metric.ROUGE_L, null, 0.2);
    happy.getSpec().evaluation.metrics =
        List.of(
            EvaluationSpec.Metric.ROUGE1,
            EvaluationSpec.Metric.ROUGE2,
            EvaluationSpec.Metric.ROUGE_L,
            EvaluationSpec.Metric.ROUGE_LSUM,
            EvaluationSpec.Metric.JSON_VALID,
            EvaluationSpec.Metric.JSON_FIELD_MATCH);
    happy.getSpec().evaluation.gate.requireSignificant = true;
    FineTuneJob created = create(happy);
    FineTuneJob done = awaitPhase("happy", Phase.Succeeded);

    // Validation read the real objects.
    assertThat(done.getStatus().dataset.format).isEqualTo("gemini");
    assertThat(done.getStatus().dataset.trainExamples).isEqualTo(40);
    assertThat(done.getStatus().dataset.validationExamples).isEqualTo(8);
    assertThat(done.getStatus().dataset.trainSha256).hasSize(64);
    assertThat(Conditions.isTrue(done.getStatus(), Conditions.DATASET_VALID)).isTrue();
    assertThat(Conditions.isTrue(done.getStatus(), Conditions.TRAINING_COMPLETE)).isTrue();
    assertThat(done.getStatus().observedGeneration).isEqualTo(1L);
    assertThat(done.getStatus().training.attempts).isEqualTo(1);
    assertThat(done.getStatus().training.preemptions).isZero();
    // The simulated pod ran a few seconds on one spot L4: a few thousandths of a GPU hour.
    assertThat(done.getStatus().cost.gpuHours).isGreaterThan(0.0).isLessThan(0.1);
    assertThat(done.getStatus().cost.estimatedUsd).isGreaterThanOrEqualTo(0.0).isLessThan(1.0);

    // The children, as the API server stored them.
    String child = "happy-trainer";
    ServiceAccount sa = client.serviceAccounts().inNamespace(ns).withName(child).get();
    assertThat(sa.getMetadata().getAnnotations())
        .containsEntry("iam.gke.io/gcp-service-account", GSA);
    assertThat(sa.getMetadata().getOwnerReferences().get(0).getUid())
        .isEqualTo(created.getMetadata().getUid());
    ConfigMap cm = client.configMaps().inNamespace(ns).withName(child).get();
    var mapper = new ObjectMapper();
    var schema =
        JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
            .getSchema(
                mapper.readTree(
                    Files.readString(
                        LocalCluster.REPO.resolve("trainer-image/job-config.schema.json"))));
    assertThat(schema.validate(mapper.readTree(cm.getData().get("job.json")))).isEmpty();
    Job job = client.batch().v1().jobs().inNamespace(ns).withName(child).get();
    assertThat(job.getSpec().getPodFailurePolicy().getRules()).hasSize(2);
    assertThat(job.getSpec().getActiveDeadlineSeconds()).isEqualTo(6 * 3600L);

    // The real scheduler put the pod on the spot L4 node: never on a CPU node or another GPU.
    Pod pod = pods("happy").get(0);
    assertThat(pod.getSpec().getNodeName()).isEqualTo("gpu-l4-spot-0");
    assertThat(pod.getStatus().getPhase()).isEqualTo("Succeeded");

    // ROUGE of both models, the improvement and the gate verdict.
    var ev = done.getStatus().evaluation;
    assertThat(ev.examples).isEqualTo(8);
    assertThat(ev.metrics)
        .containsOnlyKeys("rouge1", "rouge2", "rougeL", "rougeLsum", "jsonValid", "jsonFieldMatch");
    // The base model answered in prose, the tuned one with the reference's JSON.
    assertThat(ev.metrics.get("jsonValid").baseline).isEqualTo(0.0);
    assertThat(ev.metrics.get("jsonValid").tuned).isEqualTo(1.0);
    assertThat(ev.metrics.get("jsonFieldMatch").tuned).isEqualTo(1.0);
    assertThat(ev.metrics.get("jsonFieldMatch").scored).isEqualTo(8);
    assertThat(ev.metrics.get("jsonFieldMatch").notScored).isZero();
    // Every example improved by about the same: the interval is narrow and well above +0.2.
    assertThat(ev.metrics.get("rougeL").deltaLow)
        .isGreaterThan(0.2)
        .isLessThanOrEqualTo(ev.metrics.get("rougeL").delta);
    assertThat(ev.metrics.get("rougeL").deltaHigh)
        .isGreaterThanOrEqualTo(ev.metrics.get("rougeL").delta);
    assertThat(ev.interval).contains("95% paired bootstrap");
    // The report, in the output prefix and linked from status.
    assertThat(ev.reportUri).isEqualTo("gs://" + bucket + "/runs/happy/report.html");
    String report;
    try (var in = gcs.server().objectStore().open(GcsUri.parse(ev.reportUri))) {
      report = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
    assertThat(report)
        .contains("<h1>" + ns + "/happy</h1>")
        .contains("<tr data-metric=\"jsonFieldMatch\">")
        .contains("<svg class=\"dist\" id=\"dist-rougeL\"")
        .contains("12 steps; final loss")
        .contains("<div id=\"gains\">");
    assertThat(ev.metrics.get("rougeL").tuned).isEqualTo(1.0);
    assertThat(ev.metrics.get("rougeL").baseline).isBetween(0.05, 0.5);
    assertThat(ev.metrics.get("rougeL").delta)
        .isCloseTo(
            ev.metrics.get("rougeL").tuned - ev.metrics.get("rougeL").baseline,
            org.assertj.core.data.Offset.offset(1e-4));
    assertThat(ev.gate).isEqualTo("Passed");
    assertThat(
            Conditions.get(done.getStatus(), Conditions.QUALITY_GATE_PASSED)
                .orElseThrow()
                .getMessage())
        .contains("improvement")
        .contains(">= +0.2")
        .contains("lies above +0.2");
    assertThat(Conditions.isTrue(done.getStatus(), Conditions.READY)).isTrue();
    assertThat(done.getStatus().output.adapterUri)
        .isEqualTo("gs://" + bucket + "/runs/happy/adapter/");
    assertThat(done.getStatus().output.adapterBytes)
        .isEqualTo(1000L + "{\"peft_type\": \"LORA\"}".length());
    assertThat(done.getStatus().output.manifestBytes).isEqualTo(2L);
    String row = LocalCluster.kubectl(List.of("get", "ftj", "happy", "-n", ns, "--no-headers"));
    assertThat(row).contains("Succeeded").contains("100%");
  }

  @Test
  void anA100JobLandsOnTheA100Node() {
    FineTuneJob j = job("a100");
    j.getSpec().hardware.accelerator = HardwareSpec.Accelerator.NVIDIA_TESLA_A100;
    j.getSpec().hardware.spot = false;
    create(j);
    awaitTrained("a100");
    assertThat(pods("a100").get(0).getSpec().getNodeName()).isEqualTo("gpu-a100-0");
  }

  @Test
  void aModelOnlyAllEightGpusHoldTogetherIsShardedWithFsdp() throws Exception {
    FineTuneJob j = job("sharded");
    j.getSpec().model.source = "/models/llama-3-70b";
    j.getSpec().model.parameters = "70B";
    j.getSpec().hardware.accelerator = HardwareSpec.Accelerator.NVIDIA_H100_80GB;
    j.getSpec().hardware.count = 8;
    j.getSpec().hardware.spot = false;
    create(j);
    FineTuneJob trained = awaitTrained("sharded");
    // As the API server stored it: the strategy survives the CRD schema.
    assertThat(trained.getStatus().hardware.strategy).isEqualTo("fsdp");
    assertThat(trained.getStatus().hardware.count).isEqualTo(8);
    assertThat(trained.getStatus().hardware.reason)
        .startsWith("requested in spec.hardware.accelerator; 70.0B params")
        .contains("sharded with FSDP over 8 x nvidia-h100-80gb");
    ConfigMap cm = client.configMaps().inNamespace(ns).withName("sharded-trainer").get();
    var cfg = new ObjectMapper().readTree(cm.getData().get("job.json"));
    assertThat(cfg.at("/hardware/strategy").asText()).isEqualTo("fsdp");
    assertThat(cfg.at("/hardware/count").asInt()).isEqualTo(8);
    Job job = client.batch().v1().jobs().inNamespace(ns).withName("sharded-trainer").get();
    assertThat(
            job.getSpec()
                .getTemplate()
                .getSpec()
                .getContainers()
                .get(0)
                .getResources()
                .getLimits()
                .get("nvidia.com/gpu"))
        .isEqualTo(new io.fabric8.kubernetes.api.model.Quantity("8"));
    assertThat(pods("sharded").get(0).getSpec().getNodeName()).isEqualTo("gpu-h100-0");
  }

  @Test
  void autoPicksTheCheapestGpuThatFitsAndSaysWhy() {
    FineTuneJob j = job("auto");
    j.getSpec().model.source = "/models/gemma-3-1b-it";
    j.getSpec().model.parameters = "1B";
    j.getSpec().hardware.accelerator = HardwareSpec.Accelerator.AUTO;
    create(j);
    FineTuneJob trained = awaitTrained("auto");
    assertThat(trained.getStatus().hardware.accelerator).isEqualTo("nvidia-l4");
    assertThat(trained.getStatus().hardware.reason).contains("1.0B").contains("cheapest fit");
    assertThat(
            Conditions.get(trained.getStatus(), Conditions.ACCELERATOR_SELECTED)
                .orElseThrow()
                .getReason())
        .isEqualTo("Sized");
    assertThat(pods("auto").get(0).getSpec().getNodeName()).isEqualTo("gpu-l4-spot-0");
  }

  @Test
  void invalidDataFailsWithLineNumbersAndCreatesNothing() {
    FineTuneJob j = job("broken");
    j.getSpec().dataset.train = "gs://" + bucket + "/data/broken.jsonl";
    create(j);
    FineTuneJob failed = awaitPhase("broken", Phase.Failed);
    var c = Conditions.get(failed.getStatus(), Conditions.DATASET_VALID).orElseThrow();
    assertThat(c.getStatus()).isEqualTo("False");
    assertThat(c.getReason()).isEqualTo("InvalidDataset");
    assertThat(c.getMessage()).contains("broken.jsonl:3").contains("broken.jsonl:4");
    assertThat(failed.getStatus().dataset.errorCount).isEqualTo(2);
    assertThat(client.batch().v1().jobs().inNamespace(ns).withName("broken-trainer").get())
        .isNull();
    assertThat(client.serviceAccounts().inNamespace(ns).withName("broken-trainer").get()).isNull();
  }

  static FineTuneJob withSchema(String name, String configMap) {
    FineTuneJob j = job(name);
    j.getSpec().evaluation = new EvaluationSpec();
    j.getSpec().evaluation.metrics =
        List.of(EvaluationSpec.Metric.JSON_VALID, EvaluationSpec.Metric.JSON_SCHEMA);
    j.getSpec().evaluation.jsonSchemaRef = new EvaluationSpec.ConfigMapKeyRef();
    j.getSpec().evaluation.jsonSchemaRef.name = configMap;
    return j;
  }

  @Test
  void theJsonSchemaComesFromAConfigMapOfTheJobsOwnNamespace() throws Exception {
    String schema =
        "{\"type\": \"object\", \"required\": [\"name\", \"city\"],"
            + " \"properties\": {\"city\": {\"enum\": [\"Paris\"]}}}";
    client
        .configMaps()
        .inNamespace(ns)
        .resource(
            new io.fabric8.kubernetes.api.model.ConfigMapBuilder()
                .withNewMetadata()
                .withName("person-schema")
                .endMetadata()
                .addToData("schema.json", schema)
                .build())
        .create();
    writePredictions("schema-ok", 4, true);
    create(withSchema("schema-ok", "person-schema"));
    var ev = awaitPhase("schema-ok", Phase.Succeeded).getStatus().evaluation;
    assertThat(ev.metrics.get("jsonSchema").tuned).isEqualTo(1.0);
    assertThat(ev.metrics.get("jsonSchema").baseline).isEqualTo(0.0);

    // A ConfigMap of the same name in another namespace is not the job's: it is not found.
    String other = LocalCluster.namespace("flow-other", Map.of());
    client
        .configMaps()
        .inNamespace(other)
        .resource(
            new io.fabric8.kubernetes.api.model.ConfigMapBuilder()
                .withNewMetadata()
                .withName("elsewhere-schema")
                .endMetadata()
                .addToData("schema.json", schema)
                .build())
        .create();
    writePredictions("schema-missing", 2, true);
    create(withSchema("schema-missing", "elsewhere-schema"));
    var c =
        Conditions.get(
                awaitPhase("schema-missing", Phase.Failed).getStatus(),
                Conditions.EVALUATION_COMPLETE)
            .orElseThrow();
    assertThat(c.getReason()).isEqualTo("JsonSchemaUnavailable");
    assertThat(c.getMessage())
        .isEqualTo("ConfigMap " + ns + "/elsewhere-schema (evaluation.jsonSchemaRef) not found");

    client
        .configMaps()
        .inNamespace(ns)
        .resource(
            new io.fabric8.kubernetes.api.model.ConfigMapBuilder()
                .withNewMetadata()
                .withName("broken-schema")
                .endMetadata()
                .addToData("schema.json", "{\"type\": \"object\", \"minProperties\": \"two\"}")
                .build())
        .create();
    writePredictions("schema-broken", 2, true);
    create(withSchema("schema-broken", "broken-schema"));
    var b =
        Conditions.get(
                awaitPhase("schema-broken", Phase.Failed).getStatus(),
                Conditions.EVALUATION_COMPLETE)
            .orElseThrow();
    assertThat(b.getReason()).isEqualTo("JsonSchemaInvalid");
    assertThat(b.getMessage())
        .contains("broken-schema")
        .contains("$.minProperties: string found, integer expected");
  }

  @Test
  void aMissingObjectFailsValidationNamingIt() {
    FineTuneJob j = job("missing");
    j.getSpec().dataset.train = "gs://" + bucket + "/data/nope.jsonl";
    create(j);
    FineTuneJob failed = awaitPhase("missing", Phase.Failed);
    var c = Conditions.get(failed.getStatus(), Conditions.DATASET_VALID).orElseThrow();
    assertThat(c.getReason()).isEqualTo("DatasetNotFound");
    assertThat(c.getMessage()).contains("gs://" + bucket + "/data/nope.jsonl");
  }

  @Test
  void aServiceAccountTheNamespaceDoesNotAllowIsRefusedAndNothingIsBound() {
    FineTuneJob j = job("intruder");
    j.getSpec().identity.gcpServiceAccount = "intruder@proj-1.iam.gserviceaccount.com";
    create(j);
    FineTuneJob failed = awaitPhase("intruder", Phase.Failed);
    var c = Conditions.get(failed.getStatus(), Conditions.IDENTITY_BOUND).orElseThrow();
    assertThat(c.getReason()).isEqualTo("NotAllowed");
    assertThat(c.getMessage())
        .contains("\"intruder@proj-1.iam.gserviceaccount.com\" is not allowed");
    assertThat(client.serviceAccounts().inNamespace(ns).withName("intruder-trainer").get())
        .isNull();
    assertThat(client.batch().v1().jobs().inNamespace(ns).withName("intruder-trainer").get())
        .isNull();
  }

  @Test
  void exitCodeTwoFailsTheJobAtOnceWithTheTrainersReason() {
    FineTuneJob j = job("badcfg");
    j.getMetadata().setLabels(Map.of(HOLD, "true"));
    create(j);
    Pod pod = awaitRunningPod("badcfg", 1);
    endPod(
        pod,
        "Failed",
        2,
        "train.jsonl:17: contents[1].role: expected \"model\", found \"user\"",
        false);
    FineTuneJob failed = awaitPhase("badcfg", Phase.Failed);
    var c = Conditions.get(failed.getStatus(), Conditions.TRAINING_COMPLETE).orElseThrow();
    assertThat(c.getStatus()).isEqualTo("False");
    assertThat(c.getReason()).isEqualTo("TrainerPodFailurePolicy");
    assertThat(c.getMessage())
        .contains("exited with code 2")
        .contains("bad config or data, not retried")
        .contains("train.jsonl:17: contents[1].role");
    assertThat(pods("badcfg")).hasSize(1);
    var events = client.v1().events().inNamespace(ns).list().getItems();
    assertThat(events)
        .anySatisfy(
            e -> {
              assertThat(e.getInvolvedObject().getName()).isEqualTo("badcfg");
              assertThat(e.getType()).isEqualTo("Warning");
              assertThat(e.getMessage()).contains("exited with code 2");
            });
  }

  @Test
  void aPreemptionIsNotAFailureAndTheTrainerResumes() throws Exception {
    FineTuneJob j = job("spot");
    j.getMetadata().setLabels(Map.of(HOLD, "true"));
    create(j);
    Pod first = awaitRunningPod("spot", 1);

    // Progress written by the trainer appears in status.
    String progress =
        "{\"step\": 30, \"totalSteps\": 120, \"epoch\": 0.75, \"loss\": 1.25, \"evalLoss\": 1.5,"
            + " \"tokensPerSecond\": 2048.5, \"updatedAt\": \""
            + Instant.now()
            + "\"}";
    gcs.server()
        .objectStore()
        .write(
            GcsUri.parse("gs://" + bucket + "/runs/spot/progress.json"),
            progress.getBytes(StandardCharsets.UTF_8));
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              var t = get("spot").getStatus().training;
              assertThat(t.step).isEqualTo(30);
              assertThat(t.totalSteps).isEqualTo(120);
              assertThat(t.progress).isEqualTo("25%");
              assertThat(t.loss).isEqualTo(1.25);
              assertThat(t.tokensPerSecond).isEqualTo(2048.5);
            });

    endPod(first, "Failed", 143, "preempted: checkpoint saved at step 30", true);
    Pod second =
        await()
            .atMost(WAIT)
            .until(
                () ->
                    pods("spot").stream()
                        .filter(
                            p ->
                                !p.getMetadata().getName().equals(first.getMetadata().getName())
                                    && "Running".equals(p.getStatus().getPhase()))
                        .findFirst()
                        .orElse(null),
                p -> p != null);
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              var t = get("spot").getStatus().training;
              assertThat(t.attempts).isEqualTo(2);
              assertThat(t.preemptions).isEqualTo(1);
              assertThat(t.failures).isZero();
              assertThat(get("spot").getStatus().phase).isEqualTo(Phase.Training);
            });
    endPod(second, "Succeeded", 0, "done", false);
    FineTuneJob done = awaitTrained("spot");
    assertThat(
            Conditions.get(done.getStatus(), Conditions.TRAINING_COMPLETE)
                .orElseThrow()
                .getMessage())
        .contains("2 attempt(s), 1 preemption(s)");
  }

  @Test
  void anOperatorRestartInTheMiddleCreatesNoDuplicates() throws Exception {
    FineTuneJob j = job("restart");
    j.getMetadata().setLabels(Map.of(HOLD, "true"));
    create(j);
    Pod pod = awaitRunningPod("restart", 1);
    Job trainer = client.batch().v1().jobs().inNamespace(ns).withName("restart-trainer").get();
    ConfigMap config = client.configMaps().inNamespace(ns).withName("restart-trainer").get();
    operator.stop();
    // While the operator is down the trainer reports progress: only a restarted operator that
    // reconciled the job brings it into status.
    gcs.server()
        .objectStore()
        .write(
            GcsUri.parse("gs://" + bucket + "/runs/restart/progress.json"),
            ("{\"step\": 42, \"totalSteps\": 100, \"updatedAt\": \"" + Instant.now() + "\"}")
                .getBytes(StandardCharsets.UTF_8));
    operator = newOperator().start();
    await()
        .atMost(WAIT)
        .untilAsserted(() -> assertThat(get("restart").getStatus().training.step).isEqualTo(42));
    // The same children, neither made again nor rewritten.
    List<Job> jobs =
        client
            .batch()
            .v1()
            .jobs()
            .inNamespace(ns)
            .withLabel("finetune.dev/job-name", "restart")
            .list()
            .getItems();
    assertThat(jobs).hasSize(1);
    assertThat(jobs.get(0).getMetadata().getUid()).isEqualTo(trainer.getMetadata().getUid());
    assertThat(jobs.get(0).getMetadata().getGeneration())
        .isEqualTo(trainer.getMetadata().getGeneration());
    List<ConfigMap> configs =
        client
            .configMaps()
            .inNamespace(ns)
            .withLabel("finetune.dev/job-name", "restart")
            .list()
            .getItems();
    assertThat(configs).hasSize(1);
    assertThat(configs.get(0).getMetadata().getResourceVersion())
        .isEqualTo(config.getMetadata().getResourceVersion());
    assertThat(pods("restart"))
        .singleElement()
        .satisfies(p -> assertThat(p.getMetadata().getUid()).isEqualTo(pod.getMetadata().getUid()));
    assertThat(get("restart").getStatus().training.attempts).isEqualTo(1);
    endPod(pod, "Succeeded", 0, "done", false);
    awaitTrained("restart");
  }

  static List<Pod> runningPods(String name) {
    return pods(name).stream()
        .filter(p -> "Running".equals(p.getStatus().getPhase()))
        .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
        .toList();
  }

  static String index(Pod p) {
    return p.getMetadata().getAnnotations().get("batch.kubernetes.io/job-completion-index");
  }

  @Test
  void severalNodesRunAsOneGroupThatResumesTogetherAndTheirServiceIsAdoptedByUid()
      throws Exception {
    FineTuneJob j = job("group");
    j.getSpec().hardware.nodes = 2;
    j.getMetadata().setLabels(Map.of(HOLD, "true"));
    String uid = create(j).getMetadata().getUid();
    await().atMost(WAIT).until(() -> runningPods("group").size() == 2);

    Job trainer = client.batch().v1().jobs().inNamespace(ns).withName("group-trainer").get();
    assertThat(trainer.getSpec().getCompletionMode()).isEqualTo("Indexed");
    assertThat(trainer.getSpec().getCompletions()).isEqualTo(2);
    io.fabric8.kubernetes.api.model.Service svc =
        client.services().inNamespace(ns).withName("group-trainer").get();
    assertThat(svc.getSpec().getClusterIP()).isEqualTo("None");
    assertThat(svc.getMetadata().getOwnerReferences())
        .singleElement()
        .satisfies(r -> assertThat(r.getUid()).isEqualTo(uid));
    // Each pod is named in the Service's subdomain, at its own index, with hardware.count GPUs.
    assertThat(runningPods("group").stream().map(TrainingFlowIT::index)).containsOnly("0", "1");
    assertThat(runningPods("group"))
        .allSatisfy(
            p -> {
              assertThat(p.getSpec().getSubdomain()).isEqualTo("group-trainer");
              assertThat(p.getSpec().getHostname()).isEqualTo("group-trainer-" + index(p));
            });
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              assertThat(get("group").getStatus().training.nodesRunning).isEqualTo("2/2");
              assertThat(get("group").getStatus().hardware.nodes).isEqualTo(2);
            });

    // A restarted operator finds the Service by its owner's UID and makes no second one.
    operator.stop();
    operator = newOperator().start();
    await()
        .atMost(WAIT)
        .untilAsserted(() -> assertThat(get("group").getStatus().training.attempts).isEqualTo(2));
    assertThat(
            client
                .services()
                .inNamespace(ns)
                .withLabel("finetune.dev/job-name", "group")
                .list()
                .getItems())
        .singleElement()
        .satisfies(s -> assertThat(s.getMetadata().getUid()).isEqualTo(svc.getMetadata().getUid()));

    // Index 1 is preempted; index 0 stops with its group (exit 75). Neither is a failure, and the
    // Job starts the whole group again.
    List<Pod> first = runningPods("group");
    Pod one = first.stream().filter(p -> "1".equals(index(p))).findFirst().orElseThrow();
    Pod zero = first.stream().filter(p -> "0".equals(index(p))).findFirst().orElseThrow();
    endPod(one, "Failed", 143, "preempted: checkpoint saved at step 8", true);
    endPod(zero, "Failed", 75, "a peer node was preempted, stopped with it", false);
    List<String> firstUids = first.stream().map(p -> p.getMetadata().getUid()).toList();
    await()
        .atMost(WAIT)
        .until(
            () ->
                runningPods("group").stream()
                        .filter(p -> !firstUids.contains(p.getMetadata().getUid()))
                        .count()
                    == 2);
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              var t = get("group").getStatus().training;
              assertThat(t.attempts).isEqualTo(4);
              assertThat(t.preemptions).isEqualTo(1);
              assertThat(t.failures).isZero();
              assertThat(get("group").getStatus().phase).isEqualTo(Phase.Training);
            });
    for (Pod p : runningPods("group")) {
      endPod(p, "Succeeded", 0, "done", false);
    }
    FineTuneJob done = awaitTrained("group");
    assertThat(done.getStatus().training.preemptions).isEqualTo(1);
    Job finished = client.batch().v1().jobs().inNamespace(ns).withName("group-trainer").get();
    assertThat(finished.getStatus().getFailed()).isIn(null, 0);
  }

  @Test
  void deletingTheJobRemovesItsChildren() {
    create(job("gone"));
    awaitTrained("gone");
    client.resources(FineTuneJob.class).inNamespace(ns).withName("gone").delete();
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              assertThat(get("gone")).isNull();
              assertThat(client.batch().v1().jobs().inNamespace(ns).withName("gone-trainer").get())
                  .isNull();
              assertThat(client.configMaps().inNamespace(ns).withName("gone-trainer").get())
                  .isNull();
              assertThat(client.serviceAccounts().inNamespace(ns).withName("gone-trainer").get())
                  .isNull();
              assertThat(pods("gone")).isEmpty();
            });
  }

  @Test
  void aTunedModelThatMissesTheGateFailsWithTheNumbers() throws Exception {
    writePredictions("weak", 6, false);
    create(withGate(job("weak"), EvaluationSpec.Metric.ROUGE1, 0.9, null));
    FineTuneJob failed = awaitPhase("weak", Phase.Failed);
    var c = Conditions.get(failed.getStatus(), Conditions.QUALITY_GATE_PASSED).orElseThrow();
    assertThat(c.getStatus()).isEqualTo("False");
    assertThat(c.getReason()).isEqualTo("QualityGateFailed");
    assertThat(c.getMessage()).contains("rouge1").contains("< minScore 0.9");
    assertThat(failed.getStatus().evaluation.gate).isEqualTo("Failed");
    assertThat(Conditions.isTrue(failed.getStatus(), Conditions.EVALUATION_COMPLETE)).isTrue();
  }

  @Test
  void missingPredictionsFailTheEvaluationNamingTheFile() throws Exception {
    writeArtifacts("nopred");
    create(job("nopred"));
    FineTuneJob failed = awaitPhase("nopred", Phase.Failed);
    var c = Conditions.get(failed.getStatus(), Conditions.EVALUATION_COMPLETE).orElseThrow();
    assertThat(c.getReason()).isEqualTo("PredictionsMissing");
    assertThat(c.getMessage()).contains("runs/nopred/predictions/");
  }

  @Test
  void aRunWithoutItsAdapterFailsNamingWhatIsMissing() throws Exception {
    writePredictions("noadapter", 5, true, false);
    create(job("noadapter"));
    FineTuneJob failed = awaitPhase("noadapter", Phase.Failed);
    var c = Conditions.get(failed.getStatus(), Conditions.EVALUATION_COMPLETE).orElseThrow();
    assertThat(c.getReason()).isEqualTo("ArtifactsMissing");
    assertThat(c.getMessage())
        .contains("runs/noadapter/adapter/adapter_model.safetensors")
        .contains("runs/noadapter/manifest.json");
    assertThat(Conditions.isTrue(failed.getStatus(), Conditions.READY)).isFalse();
    assertThat(failed.getStatus().output == null || failed.getStatus().output.adapterUri == null)
        .as("no adapter URI is recorded for a run without an adapter")
        .isTrue();
  }

  @Test
  void metricsAndProbesAnswer() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    String base = "http://127.0.0.1:" + operator.httpPort();
    assertThat(
            http.send(
                    HttpRequest.newBuilder(URI.create(base + "/healthz")).build(),
                    HttpResponse.BodyHandlers.ofString())
                .statusCode())
        .isEqualTo(200);
    assertThat(
            http.send(
                    HttpRequest.newBuilder(URI.create(base + "/readyz")).build(),
                    HttpResponse.BodyHandlers.ofString())
                .statusCode())
        .isEqualTo(200);
    String metrics =
        http.send(
                HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    assertThat(metrics).contains("operator_sdk");
  }
}
