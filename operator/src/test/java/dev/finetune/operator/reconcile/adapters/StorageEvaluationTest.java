package dev.finetune.operator.reconcile.adapters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.finetune.api.v1alpha1.EvaluationSpec;
import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.gcp.storage.FakeGcsServerExtension;
import dev.finetune.operator.gcp.storage.GcsUri;
import dev.finetune.operator.reconcile.ports.Evaluation;
import dev.finetune.operator.tenancy.JobJsonSchemas;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The evaluation step's reading and scoring, against fake-gcs-server with the real client. */
class StorageEvaluationTest {
  @RegisterExtension static FakeGcsServerExtension gcs = new FakeGcsServerExtension();

  static FineTuneJob job(String bucket, String name) {
    FineTuneJob job = Fixtures.job("team-a", name);
    job.getSpec().output = "gs://" + bucket + "/runs/" + name;
    job.getSpec().evaluation = new EvaluationSpec();
    return job;
  }

  static void put(String bucket, String path, String... lines) throws Exception {
    gcs.server()
        .objectStore()
        .write(
            GcsUri.of(bucket, path),
            (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
  }

  /** The adapter and manifest a finished run leaves in its output prefix. */
  static void putArtifacts(String bucket, String run) throws Exception {
    put(bucket, run + "/adapter/adapter_model.safetensors", "0123456789");
    put(bucket, run + "/adapter/adapter_config.json", "{}");
    put(bucket, run + "/manifest.json", "{\"a\": 1}");
  }

  static Evaluation.Outcome evaluate(FineTuneJob job) {
    return evaluate(job, () -> "{}");
  }

  static Evaluation.Outcome evaluate(FineTuneJob job, JobJsonSchemas.Source schema) {
    StorageEvaluation eval =
        new StorageEvaluation(gcs.server().objectStore(), new AsyncWork<>("eval-test", 1));
    AtomicReference<Evaluation.Outcome> out = new AtomicReference<>();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              out.set(eval.evaluate(job, schema));
              return !(out.get() instanceof Evaluation.Running);
            });
    return out.get();
  }

  @Test
  void scoresBothModelsAndReportsIdsThatDoNotMatch() throws Exception {
    String bucket = gcs.server().newBucket("eval");
    put(
        bucket,
        "runs/a/predictions/baseline.jsonl",
        "{\"id\": \"1\", \"reference\": \"the cat sat\", \"prediction\": \"a dog ran\"}",
        "{\"id\": \"2\", \"reference\": \"the cat sat\", \"prediction\": \"the cat\"}",
        "{\"id\": \"3\", \"reference\": \"x\", \"prediction\": \"y\"}");
    put(
        bucket,
        "runs/a/predictions/tuned.jsonl",
        "{\"id\": \"1\", \"reference\": \"the cat sat\", \"prediction\": \"the cat sat\"}",
        "{\"id\": \"2\", \"reference\": \"the cat sat\", \"prediction\": \"the cat sat\"}");
    putArtifacts(bucket, "runs/a");
    FineTuneJob job = job(bucket, "a");
    job.getSpec().evaluation.metrics =
        List.of(EvaluationSpec.Metric.ROUGE1, EvaluationSpec.Metric.ROUGE_L);
    Evaluation.Scored s = (Evaluation.Scored) evaluate(job);
    assertThat(s.result().examples).isEqualTo(2);
    assertThat(s.result().metrics).containsOnlyKeys("rouge1", "rougeL");
    assertThat(s.result().metrics.get("rouge1").tuned).isEqualTo(1.0);
    // Baseline: pair 1 shares nothing; pair 2: P=1, R=2/3, F=0.8. Mean 0.4.
    assertThat(s.result().metrics.get("rouge1").baseline).isEqualTo(0.4);
    assertThat(s.result().metrics.get("rouge1").delta).isEqualTo(0.6);
    assertThat(s.gatePassed()).isNull();
    assertThat(s.notes()).contains("1 problem(s)").contains("3");
  }

  @Test
  void withoutABaselineOnlyTheTunedModelIsScored() throws Exception {
    String bucket = gcs.server().newBucket("eval");
    put(
        bucket,
        "runs/b/predictions/tuned.jsonl",
        "{\"id\": \"1\", \"reference\": \"Running dogs\", \"prediction\": \"the dog runs\"}");
    putArtifacts(bucket, "runs/b");
    FineTuneJob job = job(bucket, "b");
    job.getSpec().evaluation.baseline = false;
    job.getSpec().evaluation.gate = new EvaluationSpec.GateSpec();
    job.getSpec().evaluation.gate.metric = dev.finetune.api.v1alpha1.EvaluationSpec.Metric.ROUGE1;
    job.getSpec().evaluation.gate.minScore = 0.5;
    Evaluation.Scored s = (Evaluation.Scored) evaluate(job);
    // With stemming, running->run and dogs->dog: P=2/3, R=1, F=0.8.
    assertThat(s.result().metrics.get("rouge1").tuned).isEqualTo(0.8);
    assertThat(s.result().metrics.get("rouge1").baseline).isNull();
    assertThat(s.gatePassed()).isTrue();
    assertThat(s.gateMessage()).contains("rouge1 0.800 >= minScore 0.5");
  }

  @Test
  void malformedPredictionsAreRefusedWithTheLine() throws Exception {
    String bucket = gcs.server().newBucket("eval");
    put(
        bucket,
        "runs/c/predictions/baseline.jsonl",
        "{\"id\": \"1\", \"reference\": \"a\", \"prediction\": \"b\"}");
    put(
        bucket,
        "runs/c/predictions/tuned.jsonl",
        "{\"id\": \"1\", \"reference\": \"a\", \"prediction\": \"a\"}",
        "{\"id\": \"2\", \"reference\": 5}");
    putArtifacts(bucket, "runs/c");
    Evaluation.Invalid inv = (Evaluation.Invalid) evaluate(job(bucket, "c"));
    assertThat(inv.reason()).isEqualTo("PredictionsMalformed");
    assertThat(inv.message()).contains("2");
  }

  @Test
  void missingPredictionsNameTheObject() throws Exception {
    String bucket = gcs.server().newBucket("eval");
    putArtifacts(bucket, "runs/d");
    Evaluation.Invalid inv = (Evaluation.Invalid) evaluate(job(bucket, "d"));
    assertThat(inv.reason()).isEqualTo("PredictionsMissing");
    assertThat(inv.message()).contains("gs://" + bucket + "/runs/d/predictions/tuned.jsonl");
  }

  @Test
  void theAdapterAndManifestAreRecordedWithTheirSizes() throws Exception {
    String bucket = gcs.server().newBucket("eval");
    putArtifacts(bucket, "runs/e");
    put(
        bucket,
        "runs/e/predictions/baseline.jsonl",
        "{\"id\": \"1\", \"reference\": \"a b\", \"prediction\": \"c\"}");
    put(
        bucket,
        "runs/e/predictions/tuned.jsonl",
        "{\"id\": \"1\", \"reference\": \"a b\", \"prediction\": \"a b\"}");
    Evaluation.Scored s = (Evaluation.Scored) evaluate(job(bucket, "e"));
    assertThat(s.artifacts().adapterUri()).isEqualTo("gs://" + bucket + "/runs/e/adapter/");
    // "0123456789\n" and "{}\n"
    assertThat(s.artifacts().adapterBytes()).isEqualTo(11 + 3);
    assertThat(s.artifacts().manifestUri()).isEqualTo("gs://" + bucket + "/runs/e/manifest.json");
    assertThat(s.artifacts().manifestBytes()).isEqualTo(9);
  }

  @Test
  void predictionsWithoutAnAdapterAreNotSuccessNamingEachMissingObject() throws Exception {
    String bucket = gcs.server().newBucket("eval");
    put(bucket, "runs/f/adapter/adapter_config.json", "{}");
    put(
        bucket,
        "runs/f/predictions/tuned.jsonl",
        "{\"id\": \"1\", \"reference\": \"a\", \"prediction\": \"a\"}");
    put(
        bucket,
        "runs/f/predictions/baseline.jsonl",
        "{\"id\": \"1\", \"reference\": \"a\", \"prediction\": \"b\"}");
    Evaluation.Invalid inv = (Evaluation.Invalid) evaluate(job(bucket, "f"));
    assertThat(inv.reason()).isEqualTo("ArtifactsMissing");
    assertThat(inv.message())
        .contains("gs://" + bucket + "/runs/f/adapter/adapter_model.safetensors")
        .contains("gs://" + bucket + "/runs/f/manifest.json")
        .doesNotContain("adapter_config.json");
  }

  /** 40 JSON examples: the base model answers in prose, the tuned one in JSON (one wrong city). */
  static void putJsonRun(String bucket, String run) throws Exception {
    String[] base = new String[40];
    String[] tuned = new String[40];
    for (int i = 0; i < 40; i++) {
      String ref = "{\\\"name\\\": \\\"P" + i + "\\\", \\\"city\\\": \\\"Paris\\\"}";
      String good =
          "{\\\"name\\\": \\\"P"
              + i
              + "\\\", \\\"city\\\": \\\""
              + (i == 3 ? "Rome" : "Paris")
              + "\\\"}";
      base[i] =
          "{\"id\": \""
              + i
              + "\", \"prompt\": \"name: P"
              + i
              + "\", \"reference\": \""
              + ref
              + "\", \"prediction\": \"Sure! P"
              + i
              + " lives in Paris.\"}";
      tuned[i] =
          "{\"id\": \""
              + i
              + "\", \"reference\": \""
              + ref
              + "\", \"prediction\": \""
              + good
              + "\"}";
    }
    put(bucket, run + "/predictions/baseline.jsonl", base);
    put(bucket, run + "/predictions/tuned.jsonl", tuned);
    put(
        bucket,
        run + "/metrics.jsonl",
        "{\"step\": 1, \"loss\": 2.5, \"learningRate\": 0.01, \"tokensPerSecond\": 100}",
        "{\"step\": 2, \"loss\": 1.5, \"learningRate\": 0.01, \"tokensPerSecond\": 110}");
    putArtifacts(bucket, run);
  }

  @Test
  void structuredMetricsIntervalsSignificanceAndTheReport() throws Exception {
    String bucket = gcs.server().newBucket("eval");
    putJsonRun(bucket, "runs/j");
    FineTuneJob job = job(bucket, "j");
    job.getSpec().evaluation.metrics =
        List.of(
            EvaluationSpec.Metric.ROUGE_L,
            EvaluationSpec.Metric.EXACT_MATCH,
            EvaluationSpec.Metric.JSON_VALID,
            EvaluationSpec.Metric.JSON_FIELD_MATCH);
    job.getSpec().evaluation.gate = new EvaluationSpec.GateSpec();
    job.getSpec().evaluation.gate.metric = EvaluationSpec.Metric.JSON_FIELD_MATCH;
    job.getSpec().evaluation.gate.minImprovement = 0.5;
    job.getSpec().evaluation.gate.requireSignificant = true;
    Evaluation.Scored s = (Evaluation.Scored) evaluate(job);
    var m = s.result().metrics;
    assertThat(m).containsOnlyKeys("rougeL", "exactMatch", "jsonValid", "jsonFieldMatch");
    assertThat(m.get("jsonValid").baseline).isEqualTo(0.0);
    assertThat(m.get("jsonValid").tuned).isEqualTo(1.0);
    assertThat(m.get("exactMatch").tuned).isEqualTo(0.975); // 39 of 40
    // Field match: 39 perfect, one with 1 of 2 leaves right (P=R=F=0.5): (39 + 0.5) / 40.
    assertThat(m.get("jsonFieldMatch").tuned).isEqualTo(0.9875);
    assertThat(m.get("jsonFieldMatch").precision).isEqualTo(0.9875);
    assertThat(m.get("jsonFieldMatch").scored).isEqualTo(40);
    assertThat(m.get("jsonFieldMatch").notScored).isZero();
    assertThat(m.get("jsonFieldMatch").deltaLow).isGreaterThan(0.9).isLessThanOrEqualTo(0.9875);
    assertThat(m.get("jsonFieldMatch").deltaHigh).isEqualTo(1.0);
    assertThat(s.result().interval).contains("95% paired bootstrap").contains("seed 42");
    assertThat(s.gatePassed()).isTrue();
    assertThat(s.gateMessage()).contains("lies above +0.5");

    assertThat(s.result().reportUri).isEqualTo("gs://" + bucket + "/runs/j/report.html");
    String html;
    try (var in = gcs.server().objectStore().open(GcsUri.parse(s.result().reportUri))) {
      html = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertThat(html)
        .contains("<tr data-metric=\"jsonFieldMatch\">")
        .contains("<polyline class=\"loss\"")
        .contains("name: P") // the prompt recorded in the baseline file
        .contains("Passed: jsonFieldMatch");
  }

  @Test
  void proseReferencesAreCountedNotScoredByFieldMatch() throws Exception {
    String bucket = gcs.server().newBucket("eval");
    put(
        bucket,
        "runs/p/predictions/baseline.jsonl",
        "{\"id\": 1, \"reference\": \"{\\\"a\\\": 1}\", \"prediction\": \"{\\\"a\\\": 2}\"}",
        "{\"id\": 2, \"reference\": \"plain words\", \"prediction\": \"plain\"}");
    put(
        bucket,
        "runs/p/predictions/tuned.jsonl",
        "{\"id\": 1, \"reference\": \"{\\\"a\\\": 1}\", \"prediction\": \"{\\\"a\\\": 1.0}\"}",
        "{\"id\": 2, \"reference\": \"plain words\", \"prediction\": \"plain words\"}");
    putArtifacts(bucket, "runs/p");
    FineTuneJob job = job(bucket, "p");
    job.getSpec().evaluation.metrics = List.of(EvaluationSpec.Metric.JSON_FIELD_MATCH);
    Evaluation.Scored s = (Evaluation.Scored) evaluate(job);
    var f = s.result().metrics.get("jsonFieldMatch");
    assertThat(f.tuned).isEqualTo(1.0);
    assertThat(f.baseline).isEqualTo(0.0);
    assertThat(f.scored).isEqualTo(1);
    assertThat(f.notScored).isEqualTo(1);
  }

  @Test
  void aMissingOrInvalidSchemaIsAClearFailure() throws Exception {
    String bucket = gcs.server().newBucket("eval");
    putJsonRun(bucket, "runs/s");
    FineTuneJob job = job(bucket, "s");
    job.getSpec().evaluation.metrics = List.of(EvaluationSpec.Metric.JSON_SCHEMA);
    job.getSpec().evaluation.jsonSchemaRef = new EvaluationSpec.ConfigMapKeyRef();
    job.getSpec().evaluation.jsonSchemaRef.name = "person-schema";
    Evaluation.Invalid missing =
        (Evaluation.Invalid)
            evaluate(
                job,
                () -> {
                  throw new JobJsonSchemas.Unavailable(
                      "ConfigMap team-a/person-schema (evaluation.jsonSchemaRef) not found");
                });
    assertThat(missing.reason()).isEqualTo("JsonSchemaUnavailable");
    assertThat(missing.message()).contains("team-a/person-schema").contains("not found");

    Evaluation.Invalid invalid = (Evaluation.Invalid) evaluate(job, () -> "{\"type\": ");
    assertThat(invalid.reason()).isEqualTo("JsonSchemaInvalid");
    assertThat(invalid.message()).contains("person-schema").contains("not one valid JSON");

    Evaluation.Scored ok =
        (Evaluation.Scored)
            evaluate(
                job,
                () ->
                    "{\"type\": \"object\", \"required\": [\"name\", \"city\"],"
                        + " \"properties\": {\"city\": {\"const\": \"Paris\"}}}");
    assertThat(ok.result().metrics.get("jsonSchema").tuned).isEqualTo(0.975);
    assertThat(ok.result().metrics.get("jsonSchema").baseline).isEqualTo(0.0);
  }
}
