package dev.finetune.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.finetune.api.v1alpha1.FineTuneJob;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The API server itself (schema, defaults and CEL rules of the committed CRD) refuses bad
 * FineTuneJobs with a message a person understands. No operator runs here.
 */
class AdmissionIT {
  static KubernetesClient client;
  static String ns;

  @BeforeAll
  static void setUp() {
    client = LocalCluster.client();
    ns = LocalCluster.namespace("admission", Map.of());
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> validSpec() {
    Map<String, Object> spec = new LinkedHashMap<>();
    spec.put("model", new LinkedHashMap<>(Map.of("source", "hf://google/gemma-3-1b-it")));
    spec.put(
        "dataset",
        new LinkedHashMap<>(
            Map.of("train", "gs://ft-data/train.jsonl", "validation", "gs://ft-data/eval.jsonl")));
    spec.put("output", "gs://ft-out/runs/a/");
    spec.put(
        "identity",
        new LinkedHashMap<>(Map.of("gcpServiceAccount", "trainer@proj-1.iam.gserviceaccount.com")));
    return spec;
  }

  static GenericKubernetesResource manifest(String name, Map<String, Object> spec) {
    GenericKubernetesResource r = new GenericKubernetesResource();
    r.setApiVersion("finetune.dev/v1alpha1");
    r.setKind("FineTuneJob");
    r.setMetadata(
        new io.fabric8.kubernetes.api.model.ObjectMetaBuilder()
            .withName(name)
            .withNamespace(ns)
            .build());
    r.setAdditionalProperty("spec", spec);
    return r;
  }

  @SuppressWarnings("unchecked")
  static Consumer<Map<String, Object>> set(String path, Object value) {
    return spec -> {
      String[] parts = path.split("\\.");
      Map<String, Object> m = spec;
      for (int i = 0; i < parts.length - 1; i++) {
        m = (Map<String, Object>) m.computeIfAbsent(parts[i], k -> new LinkedHashMap<>());
      }
      if (value == null) {
        m.remove(parts[parts.length - 1]);
      } else {
        m.put(parts[parts.length - 1], value);
      }
    };
  }

  static Arguments bad(String what, Consumer<Map<String, Object>> change, String message) {
    return Arguments.of(what, change, message);
  }

  static Stream<Arguments> invalidManifests() {
    List<Arguments> cases = new ArrayList<>();
    cases.add(bad("no model", set("model", null), "spec.model: Required value"));
    cases.add(bad("no dataset", set("dataset", null), "spec.dataset: Required value"));
    cases.add(bad("no output", set("output", null), "spec.output: Required value"));
    cases.add(bad("no train", set("dataset.train", null), "spec.dataset.train: Required value"));
    cases.add(
        bad("no model source", set("model.source", null), "spec.model.source: Required value"));
    cases.add(
        bad(
            "s3 train",
            set("dataset.train", "s3://b/train.jsonl"),
            "dataset.train must be a Cloud Storage object gs://bucket/path/train.jsonl"));
    cases.add(
        bad(
            "bucket only train",
            set("dataset.train", "gs://bucket"),
            "dataset.train must be a Cloud Storage object"));
    cases.add(
        bad(
            "http validation",
            set("dataset.validation", "https://x/eval.jsonl"),
            "dataset.validation must be a Cloud Storage object"));
    cases.add(
        bad(
            "local output",
            set("output", "/tmp/out"),
            "output must be a Cloud Storage prefix gs://bucket/path/"));
    cases.add(
        bad(
            "uppercase bucket",
            set("output", "gs://My_Bucket/x"),
            "output must be a Cloud Storage prefix"));
    cases.add(
        bad(
            "model from s3",
            set("model.source", "s3://models/llama"),
            "model.source must be hf://org/name (Hugging Face), gs://bucket/path/"));
    cases.add(
        bad(
            "model relative path",
            set("model.source", "models/llama"),
            "model.source must be hf://org/name"));
    cases.add(
        bad(
            "hf without org",
            set("model.source", "hf://llama"),
            "model.source must be hf://org/name"));
    cases.add(
        bad(
            "bad parameters hint",
            set("model.parameters", "seven billion"),
            "model.parameters must look like 270M, 1.5B or 7B"));
    cases.add(
        bad(
            "rank 0",
            set("method.rank", 0),
            "spec.method.rank: Invalid value: 0: spec.method.rank in body should be greater than or equal to 1"));
    cases.add(
        bad(
            "rank 512",
            set("method.rank", 512),
            "spec.method.rank in body should be less than or equal to 256"));
    cases.add(
        bad(
            "dropout 1",
            set("method.dropout", 1.0),
            "spec.method.dropout in body should be less than 1"));
    cases.add(
        bad(
            "negative dropout",
            set("method.dropout", -0.1),
            "spec.method.dropout in body should be greater than or equal to 0"));
    cases.add(
        bad(
            "unknown method",
            set("method.type", "dora"),
            "spec.method.type: Unsupported value: \"dora\": supported values: \"lora\", \"qlora\""));
    cases.add(
        bad(
            "empty target modules",
            set("method.targetModules", List.of()),
            "spec.method.targetModules in body should have at least 1 items"));
    cases.add(
        bad(
            "zero epochs",
            set("training.epochs", 0),
            "spec.training.epochs in body should be greater than or equal to 1"));
    cases.add(
        bad(
            "zero learning rate",
            set("training.learningRate", 0),
            "spec.training.learningRate in body should be greater than 0"));
    cases.add(
        bad(
            "zero batch",
            set("training.batchSize", 0),
            "spec.training.batchSize in body should be greater than or equal to 1"));
    cases.add(
        bad(
            "huge accumulation",
            set("training.gradientAccumulation", 5000),
            "spec.training.gradientAccumulation in body should be less than or equal to 1024"));
    cases.add(
        bad(
            "tiny sequence",
            set("training.maxSequenceLength", 8),
            "spec.training.maxSequenceLength in body should be greater than or equal to 16"));
    cases.add(
        bad(
            "validation split 0.7",
            set("dataset.validationSplit", 0.7),
            "spec.dataset.validationSplit in body should be less than 0.5"));
    cases.add(
        bad(
            "unknown format",
            set("dataset.format", "csv"),
            "spec.dataset.format: Unsupported value: \"csv\""));
    cases.add(bad("3 GPUs", set("hardware.count", 3), "hardware.count must be 1, 2, 4 or 8 GPUs"));
    cases.add(
        bad(
            "unknown GPU",
            set("hardware.accelerator", "nvidia-v100"),
            "spec.hardware.accelerator: Unsupported value: \"nvidia-v100\""));
    cases.add(
        bad(
            "8 T4s",
            spec -> {
              set("hardware.accelerator", "nvidia-tesla-t4").accept(spec);
              set("hardware.count", 8).accept(spec);
            },
            "nvidia-tesla-t4 is offered with 1, 2 or 4 GPUs per node, not 8"));
    cases.add(
        bad(
            "qlora on T4",
            spec -> {
              set("hardware.accelerator", "nvidia-tesla-t4").accept(spec);
              set("method.type", "qlora").accept(spec);
            },
            "method.type qlora needs bf16 (compute capability 8.0+); nvidia-tesla-t4 has none"));
    cases.add(
        bad(
            "unknown provisioning",
            set("hardware.provisioning", "magic"),
            "spec.hardware.provisioning: Unsupported value: \"magic\""));
    cases.add(
        bad(
            "runtime in days",
            set("hardware.maxRuntime", "2d"),
            "hardware.maxRuntime must be a duration such as 90m, 6h or 1h30m"));
    cases.add(
        bad(
            "no service account",
            set("identity.gcpServiceAccount", null),
            "identity.gcpServiceAccount is required with identity.mode serviceAccount"));
    cases.add(
        bad(
            "not an email",
            set("identity.gcpServiceAccount", "trainer"),
            "identity.gcpServiceAccount must be a Google service account email"));
    cases.add(
        bad(
            "direct with GSA",
            set("identity.mode", "direct"),
            "identity.gcpServiceAccount must not be set with identity.mode direct"));
    cases.add(
        bad(
            "unknown metric",
            set("evaluation.metrics", List.of("bleu")),
            "spec.evaluation.metrics[0]: Unsupported value: \"bleu\": supported values:"
                + " \"exactMatch\", \"jsonFieldMatch\", \"jsonSchema\", \"jsonValid\","
                + " \"rouge1\", \"rouge2\", \"rougeL\", \"rougeLsum\""));
    cases.add(
        bad(
            "jsonSchema without a schema",
            set("evaluation.metrics", List.of("jsonValid", "jsonSchema")),
            "evaluation.metrics jsonSchema needs evaluation.jsonSchemaRef"));
    cases.add(
        bad(
            "jsonSchemaRef without a name",
            spec -> {
              set("evaluation.metrics", List.of("jsonSchema")).accept(spec);
              set("evaluation.jsonSchemaRef", new LinkedHashMap<>(Map.of("key", "s.json")))
                  .accept(spec);
            },
            "spec.evaluation.jsonSchemaRef.name: Required value"));
    cases.add(
        bad(
            "significance without baseline",
            spec -> {
              set("evaluation.baseline", false).accept(spec);
              set(
                      "evaluation.gate",
                      new LinkedHashMap<>(Map.of("minScore", 0.5, "requireSignificant", true)))
                  .accept(spec);
            },
            "evaluation.gate.requireSignificant needs evaluation.baseline: true"));
    cases.add(
        bad(
            "no metrics",
            set("evaluation.metrics", List.of()),
            "spec.evaluation.metrics: Invalid value: 0: spec.evaluation.metrics in body should have"
                + " at least 1 items"));
    cases.add(
        bad(
            "unknown gate metric",
            set("evaluation.gate", new LinkedHashMap<>(Map.of("metric", "bleu", "minScore", 0.3))),
            "spec.evaluation.gate.metric: Unsupported value: \"bleu\""));
    cases.add(
        bad(
            "huge model path",
            set("model.source", "/" + "x".repeat(2000)),
            "spec.model.source: Too long: may not be more than 1024 bytes"));
    cases.add(
        bad(
            "gate on unevaluated metric",
            spec -> {
              set("evaluation.metrics", List.of("rouge1")).accept(spec);
              set(
                      "evaluation.gate",
                      new LinkedHashMap<>(Map.of("metric", "rougeL", "minScore", 0.3)))
                  .accept(spec);
            },
            "evaluation.gate.metric must be one of evaluation.metrics"));
    cases.add(
        bad(
            "empty gate",
            set("evaluation.gate", new LinkedHashMap<>(Map.of("metric", "rougeL"))),
            "evaluation.gate needs minScore, minImprovement or both"));
    cases.add(
        bad(
            "improvement without baseline",
            spec -> {
              set("evaluation.baseline", false).accept(spec);
              set("evaluation.gate", new LinkedHashMap<>(Map.of("minImprovement", 0.05)))
                  .accept(spec);
            },
            "evaluation.gate.minImprovement needs evaluation.baseline: true"));
    cases.add(
        bad(
            "gate score above 1",
            set("evaluation.gate", new LinkedHashMap<>(Map.of("minScore", 1.5))),
            "spec.evaluation.gate.minScore in body should be less than or equal to 1"));
    cases.add(
        bad(
            "zero new tokens",
            set("evaluation.maxNewTokens", 0),
            "spec.evaluation.maxNewTokens in body should be greater than or equal to 1"));
    return cases.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalidManifests")
  void theApiServerRefusesWithAClearMessage(
      String what, Consumer<Map<String, Object>> change, String message) {
    Map<String, Object> spec = validSpec();
    change.accept(spec);
    GenericKubernetesResource r = manifest("bad-" + what.replaceAll("[^a-z0-9]+", "-"), spec);
    assertThatThrownBy(() -> client.resource(r).create())
        .isInstanceOf(KubernetesClientException.class)
        .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422))
        .hasMessageContaining(message);
  }

  @Test
  void aMinimalManifestIsAcceptedWithDefaults() {
    client.resource(manifest("minimal", validSpec())).create();
    FineTuneJob job = client.resources(FineTuneJob.class).inNamespace(ns).withName("minimal").get();
    assertThat(job.getSpec().method.rank).isEqualTo(16);
    assertThat(job.getSpec().method.targetModules).containsExactly("all-linear");
    assertThat(job.getSpec().hardware.accelerator.wireName()).isEqualTo("auto");
    assertThat(job.getSpec().hardware.provisioning.name()).isEqualTo("MANAGED");
    assertThat(job.getSpec().hardware.spot).isTrue();
    assertThat(job.getSpec().evaluation.metrics)
        .extracting(m -> m.id())
        .containsExactly("rouge1", "rouge2", "rougeL", "rougeLsum");
    assertThat(job.getSpec().training.learningRate).isEqualTo(2e-4);
  }

  @Test
  void structuredMetricsWithASchemaAndASignificanceGateAreAccepted() {
    Map<String, Object> spec = validSpec();
    set(
            "evaluation.metrics",
            List.of("rougeL", "exactMatch", "jsonValid", "jsonFieldMatch", "jsonSchema"))
        .accept(spec);
    set("evaluation.jsonSchemaRef", new LinkedHashMap<>(Map.of("name", "person-schema")))
        .accept(spec);
    set(
            "evaluation.gate",
            new LinkedHashMap<>(
                Map.of(
                    "metric",
                    "jsonFieldMatch",
                    "minImprovement",
                    0.05,
                    "requireSignificant",
                    true)))
        .accept(spec);
    client.resource(manifest("structured", spec)).create();
    FineTuneJob job =
        client.resources(FineTuneJob.class).inNamespace(ns).withName("structured").get();
    assertThat(job.getSpec().evaluation.jsonSchemaRef.key).isEqualTo("schema.json");
    assertThat(job.getSpec().evaluation.gate.requireSignificant).isTrue();
    assertThat(job.getSpec().evaluation.metrics)
        .extracting(m -> m.id())
        .containsExactly("rougeL", "exactMatch", "jsonValid", "jsonFieldMatch", "jsonSchema");
  }

  @Test
  void theSpecCannotChangeAfterCreation() {
    client.resource(manifest("immutable", validSpec())).create();
    assertThatThrownBy(
            () ->
                client
                    .resources(FineTuneJob.class)
                    .inNamespace(ns)
                    .withName("immutable")
                    .edit(
                        j -> {
                          j.getSpec().training.epochs = 5;
                          return j;
                        }))
        .isInstanceOf(KubernetesClientException.class)
        .hasMessageContaining("spec is immutable: a FineTuneJob is one training run");
  }

  @Test
  void kubectlExplainReadsWell() throws Exception {
    String out = LocalCluster.kubectl(List.of("explain", "ftj.spec.method"));
    assertThat(out)
        .contains("KIND:       FineTuneJob")
        .contains("rank")
        .contains("LoRA rank r (1-256)");
    client.resource(manifest("columns", validSpec())).create();
    String columns = LocalCluster.kubectl(List.of("get", "ftj", "columns", "-n", ns));
    assertThat(columns.lines().findFirst().orElseThrow())
        .containsSubsequence("NAME", "PHASE", "PROGRESS", "ROUGE-L", "DELTA", "AGE");
  }
}
