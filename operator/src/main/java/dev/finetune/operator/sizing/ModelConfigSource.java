package dev.finetune.operator.sizing;

import java.io.IOException;

/** Where a model's {@code config.json} comes from. */
public interface ModelConfigSource {

  /**
   * Reads the model's configuration.
   *
   * @param model a Hub id ({@code org/name}) or a storage URI, depending on the source
   * @param revision branch, tag or commit (Hub); ignored by sources without revisions
   */
  ModelConfig fetch(String model, String revision) throws IOException;

  /** This source reading with {@code token} (null: anonymous); sources without tokens ignore it. */
  default ModelConfigSource withToken(String token) {
    return this;
  }
}
