package dev.finetune.operator.it;

import dev.finetune.operator.gcp.storage.GcsUri;
import dev.finetune.operator.gcp.storage.ObjectStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * What a finished trainer leaves in its output prefix besides the predictions: the adapter files
 * and manifest.json (without them the operator fails the run with ArtifactsMissing).
 */
public final class TrainerOutput {
  static final int ADAPTER_WEIGHTS_BYTES = 1000;
  static final byte[] ADAPTER_CONFIG = "{\"peft_type\": \"LORA\"}".getBytes(StandardCharsets.UTF_8);
  static final byte[] MANIFEST = "{}".getBytes(StandardCharsets.UTF_8);

  /** A valid prompt-completion dataset of 20 examples. */
  static final byte[] TRAIN_JSONL =
      "{\"prompt\": \"name: Ada; city: Paris\", \"completion\": \"{\\\"name\\\": \\\"Ada\\\"}\"}\n"
          .repeat(20)
          .getBytes(StandardCharsets.UTF_8);

  private TrainerOutput() {}

  /** Writes {@link #TRAIN_JSONL} as gs://bucket/train.jsonl. */
  public static void writeTrainingData(ObjectStore store, String bucket) throws IOException {
    store.write(GcsUri.of(bucket, "train.jsonl"), TRAIN_JSONL);
  }

  /**
   * A finished run's whole output under gs://bucket/runs/run/: the adapter, manifest.json and
   * baseline and tuned predictions of one example that both get right.
   */
  public static void writeFinishedRun(ObjectStore store, String bucket, String run)
      throws IOException {
    writeArtifacts(store, bucket, run);
    byte[] pred =
        "{\"id\": \"e0\", \"reference\": \"Ada\", \"prediction\": \"Ada\"}\n"
            .getBytes(StandardCharsets.UTF_8);
    for (String f : new String[] {"baseline.jsonl", "tuned.jsonl"}) {
      store.write(GcsUri.of(bucket, "runs/" + run + "/predictions/" + f), pred);
    }
  }

  /** Writes them under gs://bucket/runs/run/. */
  public static void writeArtifacts(ObjectStore store, String bucket, String run)
      throws IOException {
    String prefix = "runs/" + run + "/";
    store.write(
        GcsUri.of(bucket, prefix + "adapter/adapter_model.safetensors"),
        new byte[ADAPTER_WEIGHTS_BYTES]);
    store.write(GcsUri.of(bucket, prefix + "adapter/adapter_config.json"), ADAPTER_CONFIG);
    store.write(GcsUri.of(bucket, prefix + "manifest.json"), MANIFEST);
  }

  /** The trainer's progress history gs://bucket/runs/run/metrics.jsonl: {@code steps} lines. */
  static void writeHistory(ObjectStore store, String bucket, String run, int steps)
      throws IOException {
    StringBuilder b = new StringBuilder();
    for (int s = 1; s <= steps; s++) {
      b.append(
          String.format(
              java.util.Locale.ROOT,
              "{\"step\": %d, \"attempt\": 1, \"resumedFrom\": 0, \"loss\": %.4f,"
                  + " \"learningRate\": 0.0002, \"tokensPerSecond\": 850.0}%n",
              s,
              2.0 / s));
    }
    store.write(
        GcsUri.of(bucket, "runs/" + run + "/metrics.jsonl"),
        b.toString().getBytes(StandardCharsets.UTF_8));
  }
}
