package dev.finetune.operator.sizing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.function.Function;

/**
 * Reads {@code config.json} next to a model in object storage, e.g. {@code gs://bucket/models/x}
 * reads {@code gs://bucket/models/x/config.json}. The opener maps a URI to its content; the storage
 * layer supplies it.
 */
public class StorageModelConfigSource implements ModelConfigSource {

  private final Function<String, InputStream> opener;

  public StorageModelConfigSource(Function<String, InputStream> opener) {
    this.opener = opener;
  }

  @Override
  public ModelConfig fetch(String modelUri, String revision) throws IOException {
    String uri =
        modelUri.endsWith("config.json")
            ? modelUri
            : modelUri.replaceAll("/+$", "") + "/config.json";
    try (InputStream in = opener.apply(uri)) {
      if (in == null) {
        throw new IOException("no config.json at " + uri);
      }
      return ModelConfig.parse(in);
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }
}
