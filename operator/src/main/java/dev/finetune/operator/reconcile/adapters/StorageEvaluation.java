package dev.finetune.operator.reconcile.adapters;

import dev.finetune.api.v1alpha1.EvaluationSpec;
import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.EvaluationStatus;
import dev.finetune.api.v1alpha1.FineTuneJobStatus.MetricResult;
import dev.finetune.operator.eval.BootstrapAggregator;
import dev.finetune.operator.eval.PredictionJoin;
import dev.finetune.operator.eval.QualityGate;
import dev.finetune.operator.eval.RougeScorer;
import dev.finetune.operator.eval.RougeType;
import dev.finetune.operator.gcp.storage.GcsUri;
import dev.finetune.operator.gcp.storage.ObjectInfo;
import dev.finetune.operator.gcp.storage.ObjectNotFoundException;
import dev.finetune.operator.gcp.storage.ObjectStore;
import dev.finetune.operator.reconcile.ports.Evaluation;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Streams predictions/baseline.jsonl and predictions/tuned.jsonl from the job's output, joins them
 * by id, scores both against the references with ROUGE (as rouge-score, with stemming) and applies
 * the gate. Before anything is reported as done it checks that the adapter and manifest.json are in
 * the output prefix (a run without them failed, whatever its predictions say). Runs aside; the step
 * polls.
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
  public void begin(FineTuneJob job) {
    work.begin(key(job), cancelled -> score(job));
  }

  @Override
  public Outcome evaluate(FineTuneJob job) {
    Optional<AsyncWork.Result<Outcome>> r = work.poll(key(job), cancelled -> score(job));
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
    List<RougeType> metrics =
        spec.metrics == null
            ? List.of(RougeType.ROUGE1, RougeType.ROUGE2, RougeType.ROUGE_L, RougeType.ROUGE_LSUM)
            : spec.metrics.stream().map(m -> RougeType.fromId(m.id())).distinct().toList();
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
    List<PredictionJoin.Row> rows = joined.rows().subList(0, Math.min(limit, joined.rows().size()));

    RougeScorer scorer = new RougeScorer(metrics, true);
    BootstrapAggregator base = new BootstrapAggregator();
    BootstrapAggregator tuned = new BootstrapAggregator();
    for (PredictionJoin.Row row : rows) {
      tuned.add(scorer.score(row.reference(), row.tunedPrediction()));
      if (withBaseline) {
        base.add(scorer.score(row.reference(), row.baselinePrediction()));
      }
    }
    Map<RougeType, Double> tunedMeans = means(tuned);
    Map<RougeType, Double> baseMeans = withBaseline ? means(base) : Map.of();

    EvaluationStatus result = new EvaluationStatus();
    result.examples = rows.size();
    result.predictionsUri = predictions(job.getSpec().output, "").toString();
    for (RougeType t : metrics) {
      MetricResult m = new MetricResult();
      m.tuned = round(tunedMeans.get(t));
      if (withBaseline) {
        m.baseline = round(baseMeans.get(t));
        m.delta = round(tunedMeans.get(t) - baseMeans.get(t));
      }
      result.metrics.put(t.id(), m);
    }

    String notes =
        joined.problems().isEmpty() ? null : summarize(joined.problems(), joined.problems().size());
    if (spec.gate == null) {
      result.gate = "NotConfigured";
      return new Scored(result, null, null, notes, artifacts);
    }
    QualityGate.Gate gate =
        new QualityGate.Gate(
            spec.gate.metric == null ? RougeType.ROUGE_L : RougeType.fromId(spec.gate.metric.id()),
            spec.gate.minScore,
            spec.gate.minImprovement);
    QualityGate.Result verdict =
        QualityGate.evaluate(withBaseline ? baseMeans : null, tunedMeans, gate);
    result.gate = verdict.passed() ? "Passed" : "Failed";
    result.gateMessage = verdict.message();
    return new Scored(result, verdict.passed(), verdict.message(), notes, artifacts);
  }

  private Reader reader(GcsUri uri) throws IOException {
    return new InputStreamReader(store.open(uri), StandardCharsets.UTF_8);
  }

  private static Map<RougeType, Double> means(BootstrapAggregator agg) {
    Map<RougeType, Double> out = new EnumMap<>(RougeType.class);
    agg.aggregate().forEach((t, a) -> out.put(t, a.mean().fmeasure()));
    return out;
  }

  private static Double round(Double v) {
    return v == null ? null : Math.round(v * 10000.0) / 10000.0;
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
