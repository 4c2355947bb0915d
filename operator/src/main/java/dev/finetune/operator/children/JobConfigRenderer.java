package dev.finetune.operator.children;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.finetune.api.v1alpha1.DatasetSpec;
import dev.finetune.api.v1alpha1.EvaluationSpec;
import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.FineTuneJobSpec;
import dev.finetune.api.v1alpha1.MethodSpec;
import dev.finetune.api.v1alpha1.TrainingSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders the trainer's job config (contract: trainer-image/job-config.schema.json) from a
 * FineTuneJob. Spec fields the API server defaulted are read as they are; the fallbacks here only
 * matter for objects built in code without defaulting.
 */
public final class JobConfigRenderer {
  public static final String API_VERSION = "finetune.dev/job-config/v1";
  public static final String TOKEN_FILE = "/var/run/secrets/finetune/hf/token";
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private JobConfigRenderer() {}

  /** Strategy the trainer uses over its GPUs when the config does not say: data parallel. */
  public static final String DEFAULT_STRATEGY = "ddp";

  public static Map<String, Object> render(
      FineTuneJob job, String image, String accelerator, int gpuCount) {
    return render(job, image, accelerator, gpuCount, DEFAULT_STRATEGY);
  }

  /**
   * @param strategy {@code ddp} (every GPU a full replica) or {@code fsdp} (weights sharded over
   *     the GPUs), as sizing chose it (status.hardware.strategy); null means ddp
   */
  public static Map<String, Object> render(
      FineTuneJob job, String image, String accelerator, int gpuCount, String strategy) {
    FineTuneJobSpec spec = job.getSpec();
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("apiVersion", API_VERSION);

    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put("name", job.getMetadata().getName());
    meta.put("namespace", job.getMetadata().getNamespace());
    if (job.getMetadata().getUid() != null) {
      meta.put("uid", job.getMetadata().getUid());
    }
    meta.put("image", image);
    root.put("job", meta);

    Map<String, Object> model = new LinkedHashMap<>();
    model.put("source", spec.model.source);
    model.put("revision", or(spec.model.revision, "main"));
    if (spec.model.tokenSecretRef != null) {
      model.put("tokenFile", TOKEN_FILE);
    }
    if (spec.model.parameters != null) {
      model.put("parameters", spec.model.parameters);
    }
    root.put("model", model);

    DatasetSpec ds = spec.dataset;
    Map<String, Object> dataset = new LinkedHashMap<>();
    dataset.put("train", ds.train);
    if (ds.validation != null) {
      dataset.put("validation", ds.validation);
    } else {
      dataset.put("validationSplit", or(ds.validationSplit, 0.1));
    }
    dataset.put("format", (ds.format == null ? DatasetSpec.Format.AUTO : ds.format).wireName());
    root.put("dataset", dataset);

    MethodSpec m = or(spec.method, new MethodSpec());
    Map<String, Object> method = new LinkedHashMap<>();
    method.put("type", (m.type == null ? MethodSpec.Type.LORA : m.type).wireName());
    method.put("rank", or(m.rank, 16));
    method.put("alpha", or(m.alpha, 32.0));
    method.put("dropout", or(m.dropout, 0.05));
    method.put("targetModules", or(m.targetModules, List.of("all-linear")));
    root.put("method", method);

    TrainingSpec t = or(spec.training, new TrainingSpec());
    Map<String, Object> training = new LinkedHashMap<>();
    training.put("epochs", or(t.epochs, 3));
    training.put("learningRate", or(t.learningRate, 2e-4));
    training.put("batchSize", or(t.batchSize, 4));
    training.put("gradientAccumulation", or(t.gradientAccumulation, 1));
    training.put("maxSequenceLength", or(t.maxSequenceLength, 2048));
    training.put("seed", or(t.seed, 42L));
    training.put("checkpointEverySteps", or(t.checkpointEverySteps, 100));
    root.put("training", training);

    Map<String, Object> hardware = new LinkedHashMap<>();
    hardware.put("accelerator", accelerator);
    hardware.put("count", gpuCount);
    hardware.put("strategy", strategy == null ? DEFAULT_STRATEGY : strategy);
    if (TrainerJob.nodes(job) > 1) {
      hardware.put("nodes", TrainerJob.nodes(job));
    }
    root.put("hardware", hardware);

    EvaluationSpec e = or(spec.evaluation, new EvaluationSpec());
    Map<String, Object> evaluation = new LinkedHashMap<>();
    evaluation.put("maxExamples", or(e.maxExamples, 200));
    evaluation.put("maxNewTokens", or(e.maxNewTokens, 256));
    evaluation.put("baseline", or(e.baseline, Boolean.TRUE));
    root.put("evaluation", evaluation);

    root.put("output", spec.output);
    return root;
  }

  public static String renderJson(FineTuneJob job, String image, String accelerator, int gpuCount) {
    return renderJson(job, image, accelerator, gpuCount, DEFAULT_STRATEGY);
  }

  public static String renderJson(
      FineTuneJob job, String image, String accelerator, int gpuCount, String strategy) {
    try {
      return JSON.writeValueAsString(render(job, image, accelerator, gpuCount, strategy)) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render job config", e);
    }
  }

  private static <T> T or(T value, T fallback) {
    return value != null ? value : fallback;
  }
}
