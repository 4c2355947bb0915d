package dev.finetune.operator.it;

import dev.finetune.operator.gcp.storage.GcsUri;
import dev.finetune.operator.gcp.storage.ObjectStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * What a finished trainer leaves in its output prefix besides the predictions: the adapter files
 * and manifest.json (without them the operator fails the run with ArtifactsMissing).
 */
final class TrainerOutput {
  static final int ADAPTER_WEIGHTS_BYTES = 1000;
  static final byte[] ADAPTER_CONFIG = "{\"peft_type\": \"LORA\"}".getBytes(StandardCharsets.UTF_8);
  static final byte[] MANIFEST = "{}".getBytes(StandardCharsets.UTF_8);

  private TrainerOutput() {}

  /** Writes them under gs://bucket/runs/run/. */
  static void writeArtifacts(ObjectStore store, String bucket, String run) throws IOException {
    String prefix = "runs/" + run + "/";
    store.write(
        GcsUri.of(bucket, prefix + "adapter/adapter_model.safetensors"),
        new byte[ADAPTER_WEIGHTS_BYTES]);
    store.write(GcsUri.of(bucket, prefix + "adapter/adapter_config.json"), ADAPTER_CONFIG);
    store.write(GcsUri.of(bucket, prefix + "manifest.json"), MANIFEST);
  }
}
