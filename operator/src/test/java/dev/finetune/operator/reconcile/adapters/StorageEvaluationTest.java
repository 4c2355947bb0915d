package dev.finetune.operator.reconcile.adapters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.finetune.api.v1alpha1.EvaluationSpec;
import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.operator.Fixtures;
import dev.finetune.operator.gcp.storage.FakeGcsServerExtension;
import dev.finetune.operator.gcp.storage.GcsUri;
import dev.finetune.operator.reconcile.ports.Evaluation;
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
    StorageEvaluation eval =
        new StorageEvaluation(gcs.server().objectStore(), new AsyncWork<>("eval-test", 1));
    AtomicReference<Evaluation.Outcome> out = new AtomicReference<>();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              out.set(eval.evaluate(job));
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
}
