package dev.finetune.operator.reconcile.adapters;

import dev.finetune.api.v1alpha1.EvaluationSpec;
import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.EvaluationStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.MetricResult;
import dev.finetune.operator.eval.EvalMetric;
import dev.finetune.operator.eval.HtmlReport;
import dev.finetune.operator.eval.JsonSchemaCheck;
import dev.finetune.operator.eval.PairedBootstrap;
import dev.finetune.operator.eval.PredictionJoin;
import dev.finetune.operator.eval.QualityGate;
import dev.finetune.operator.eval.Scoreboard;
import dev.finetune.operator.eval.TrainingHistory;
import dev.finetune.operator.gcp.storage.GcsUri;
import dev.finetune.operator.gcp.storage.ObjectInfo;
import dev.finetune.operator.gcp.storage.ObjectNotFoundException;
import dev.finetune.operator.gcp.storage.ObjectStore;
import dev.finetune.operator.reconcile.ports.Evaluation;
import dev.finetune.operator.tenancy.JobJsonSchemas;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Streams predictions/baseline.jsonl and predictions/tuned.jsonl from the job's output, joins them
 * by id, scores both against the references with the metrics asked for (ROUGE as rouge-score, with
 * stemming; exact match and the JSON metrics), computes the paired-bootstrap interval of each
 * improvement, writes report.html into the output prefix and applies the gate. Before anything is
 * reported as done it checks that the adapter and manifest.json are in the output prefix (a run
 * without them failed, whatever its predictions say). Runs aside; the step polls.
 */
public final class StorageEvaluation implements Evaluation {
  private static final int MAX_PROBLEMS_SHOWN = 5;
  private final ObjectStore store;
  private final AsyncWork<Outcome> work;

  public StorageEvaluation(ObjectStore store, AsyncWork<Outcome> work) {
    this.store = store;
    this.work = work;
  }

  private static String key(FineTuneJob job) {
    return job.getMetadata().getUid() + "/" + job.getMetadata().getGeneration();
  }

  @Override
  public void begin(FineTuneJob job, JobJsonSchemas.Source schema) {
    work.begin(key(job), cancelled -> score(job, schema));
  }

  @Override
  public Outcome evaluate(FineTuneJob job) {
    return evaluate(job, JobJsonSchemas.forJob(null, job));
  }

  @Override
  public Outcome evaluate(FineTuneJob job, JobJsonSchemas.Source schema) {
    Optional<AsyncWork.Result<Outcome>> r = work.poll(key(job), cancelled -> score(job, schema));
    if (r.isEmpty()) {
      return new Running("scoring predictions");
    }
    if (r.get() instanceof AsyncWork.Error<Outcome> err) {
      Throwable cause = err.error() instanceof UncheckedIOException u ? u.getCause() : err.error();
      if (cause instanceof ObjectNotFoundException) {
        return new Invalid(
            "PredictionsMissing",
            cause.getMessage() + " (the trainer writes it; see the trainer pod's log)");
      }
      return new Running("could not read predictions, retrying: " + cause.getMessage());
    }
    return ((AsyncWork.Done<Outcome>) r.get()).value();
  }

  /** Files the trainer writes under adapter/ that PEFT needs to load the adapter. */
  static final List<String> ADAPTER_FILES =
      List.of("adapter_model.safetensors", "adapter_config.json");

  static GcsUri predictions(String output, String file) {
    return outputPrefix(output).resolve("predictions/" + file);
  }

  private static GcsUri outputPrefix(String output) {
    return GcsUri.parse(output.endsWith("/") ? output : output + "/");
  }

  /**
   * What the output prefix holds: the artifacts, or (when any is absent) every missing object.
   *
   * @param artifacts the adapter and manifest with their sizes, or null when something is missing
   * @param missing the URIs of the required objects that are not there
   */
  record Found(Artifacts artifacts, List<String> missing) {}

  /** One listing of adapter/ (with each object's size) and one stat of manifest.json. */
  Found artifacts(String output) throws IOException {
    GcsUri prefix = outputPrefix(output);
    GcsUri adapter = prefix.resolve("adapter/");
    GcsUri manifest = prefix.resolve("manifest.json");
    Map<String, Long> adapterSizes = new HashMap<>();
    for (GcsUri u : store.list(adapter)) {
      store.stat(u).ifPresent(info -> adapterSizes.put(u.toString(), info.size()));
    }
    List<String> missing = new ArrayList<>();
    for (String f : ADAPTER_FILES) {
      if (!adapterSizes.containsKey(adapter.resolve(f).toString())) {
        missing.add(adapter.resolve(f).toString());
      }
    }
    Optional<ObjectInfo> manifestInfo = store.stat(manifest);
    if (manifestInfo.isEmpty()) {
      missing.add(manifest.toString());
    }
    if (!missing.isEmpty()) {
      return new Found(null, missing);
    }
    long adapterBytes = adapterSizes.values().stream().mapToLong(Long::longValue).sum();
    return new Found(
        new Artifacts(
            adapter.toString(), adapterBytes, manifest.toString(), manifestInfo.get().size()),
        List.of());
  }

  Outcome score(FineTuneJob job) {
    return score(job, JobJsonSchemas.forJob(null, job));
  }

  Outcome score(FineTuneJob job, JobJsonSchemas.Source schemaSource) {
    Found found;
    try {
      found = artifacts(job.getSpec().output);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (!found.missing().isEmpty()) {
      return new Invalid(
          "ArtifactsMissing",
          "the trainer exited 0 but its output is incomplete; missing: "
              + String.join(", ", found.missing()));
    }
    Artifacts artifacts = found.artifacts();
    EvaluationSpec spec =
        job.getSpec().evaluation == null ? new EvaluationSpec() : job.getSpec().evaluation;
    boolean withBaseline = spec.baseline == null || spec.baseline;
    List<EvalMetric> metrics =
        spec.metrics == null
            ? DEFAULT_METRICS
            : spec.metrics.stream().map(m -> EvalMetric.fromId(m.id())).distinct().toList();
    JsonSchemaCheck schema = null;
    if (metrics.contains(EvalMetric.JSON_SCHEMA)) {
      try {
        schema = JsonSchemaCheck.compile(schemaSource.read());
      } catch (JobJsonSchemas.Unavailable e) {
        return new Invalid("JsonSchemaUnavailable", e.getMessage());
      } catch (JsonSchemaCheck.InvalidSchemaException e) {
        return new Invalid(
            "JsonSchemaInvalid",
            "evaluation.jsonSchemaRef "
                + spec.jsonSchemaRef.name
                + ": "
                + e.getMessage()
                + " (a draft 2020-12 JSON Schema that refers to nothing outside itself)");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    GcsUri tunedUri = predictions(job.getSpec().output, "tuned.jsonl");
    GcsUri baselineUri = predictions(job.getSpec().output, "baseline.jsonl");
    PredictionJoin.Result joined;
    try (Reader tuned = reader(tunedUri);
        Reader baseline = withBaseline ? reader(baselineUri) : reader(tunedUri)) {
      joined = PredictionJoin.join(baseline, tuned);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<PredictionJoin.Problem> malformed =
        joined.problems().stream().filter(p -> p.kind() == PredictionJoin.Kind.MALFORMED).toList();
    if (!malformed.isEmpty()) {
      return new Invalid("PredictionsMalformed", summarize(malformed, malformed.size()));
    }
    if (joined.rows().isEmpty()) {
      return new Invalid(
          "NoPredictions",
          "no prediction could be matched by id in " + tunedUri + " and " + baselineUri);
    }
    int limit = spec.maxExamples == null ? Integer.MAX_VALUE : spec.maxExamples;
    List<Scoreboard.Example> examples =
        joined.rows().subList(0, Math.min(limit, joined.rows().size())).stream()
            .map(Scoreboard.Example::of)
            .toList();
    PairedBootstrap bootstrap = new PairedBootstrap();
    Scoreboard board = Scoreboard.score(examples, metrics, withBaseline, schema, bootstrap);

    EvaluationStatus result = new EvaluationStatus();
    result.examples = examples.size();
    result.predictionsUri = predictions(job.getSpec().output, "").toString();
    if (withBaseline) {
      result.interval = HtmlReport.intervalText(bootstrap);
    }
    result.metrics.putAll(metricResults(board));

    String notes =
        joined.problems().isEmpty() ? null : summarize(joined.problems(), joined.problems().size());
    EvalMetric gateMetric = null;
    QualityGate.Result verdict = null;
    if (spec.gate == null) {
      result.gate = "NotConfigured";
    } else {
      gateMetric =
          spec.gate.metric == null ? EvalMetric.ROUGE_L : EvalMetric.fromId(spec.gate.metric.id());
      QualityGate.Gate gate =
          new QualityGate.Gate(
              gateMetric.id(),
              spec.gate.minScore,
              spec.gate.minImprovement,
              Boolean.TRUE.equals(spec.gate.requireSignificant));
      verdict =
          QualityGate.evaluate(
              withBaseline ? board.means(false) : null, board.means(true), board.intervals(), gate);
      result.gate = verdict.passed() ? "Passed" : "Failed";
      result.gateMessage = verdict.message();
    }

    GcsUri reportUri = outputPrefix(job.getSpec().output).resolve(REPORT);
    String title = job.getMetadata().getNamespace() + "/" + job.getMetadata().getName();
    try {
      TrainingHistory history = history(job.getSpec().output);
      byte[] html =
          HtmlReport.renderBytes(
              new HtmlReport.Data(
                  title,
                  board,
                  HtmlReport.focus(board.metrics(), gateMetric),
                  verdict == null ? null : result.gate + ": " + verdict.message(),
                  notes,
                  history));
      store.write(reportUri, html, "text/html; charset=utf-8");
      result.reportUri = reportUri.toString();
    } catch (IOException e) {
      // The numbers are in status either way; a report that cannot be written is worth a note.
      notes = (notes == null ? "" : notes + "; ") + "report not written: " + e.getMessage();
    }
    if (verdict == null) {
      return new Scored(result, null, null, notes, artifacts);
    }
    return new Scored(result, verdict.passed(), verdict.message(), notes, artifacts);
  }

  /** The report's name in the output prefix. */
  static final String REPORT = "report.html";

  static final List<EvalMetric> DEFAULT_METRICS =
      List.of(EvalMetric.ROUGE1, EvalMetric.ROUGE2, EvalMetric.ROUGE_L, EvalMetric.ROUGE_LSUM);

  /** Status entries per metric, rounded to 4 places. */
  public static Map<String, MetricResult> metricResults(Scoreboard board) {
    Map<String, MetricResult> out = new LinkedHashMap<>();
    for (Scoreboard.MetricScores s : board.metrics().values()) {
      MetricResult m = new MetricResult();
      m.tuned = round(s.tunedMean());
      if (board.withBaseline()) {
        m.baseline = round(s.baselineMean());
        m.delta = round(s.tunedMean() - s.baselineMean());
        if (s.interval() != null) {
          m.deltaLow = round(s.interval().low());
          m.deltaHigh = round(s.interval().high());
        }
      }
      if (s.metric() == EvalMetric.JSON_FIELD_MATCH) {
        m.precision = round(s.tunedPrecision());
        m.recall = round(s.tunedRecall());
        m.scored = s.scored();
        m.notScored = s.notScored();
      }
      out.put(s.metric().id(), m);
    }
    return out;
  }

  /** The trainer's metrics.jsonl; empty when it is not there. */
  private TrainingHistory history(String output) throws IOException {
    GcsUri uri = outputPrefix(output).resolve("metrics.jsonl");
    try (Reader r = reader(uri)) {
      return TrainingHistory.read(r);
    } catch (ObjectNotFoundException e) {
      return TrainingHistory.empty();
    }
  }

  private Reader reader(GcsUri uri) throws IOException {
    return new InputStreamReader(store.open(uri), StandardCharsets.UTF_8);
  }

  private static Double round(double v) {
    return Double.isNaN(v) ? null : Math.round(v * 10000.0) / 10000.0;
  }

  private static String summarize(List<PredictionJoin.Problem> problems, int total) {
    List<String> shown = new ArrayList<>();
    for (int i = 0; i < Math.min(MAX_PROBLEMS_SHOWN, problems.size()); i++) {
      shown.add(problems.get(i).toString());
    }
    return total
        + " problem(s) in the predictions: "
        + shown.stream().collect(Collectors.joining("; "))
        + (total > MAX_PROBLEMS_SHOWN ? "; ..." : "");
  }

  @Override
  public void forget(FineTuneJob job) {
    work.forget(job.getMetadata().getUid() + "/");
  }

  @Override
  public void close() {
    work.close();
  }
}
