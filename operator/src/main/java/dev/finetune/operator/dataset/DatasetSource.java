package dev.finetune.operator.dataset;

import dev.finetune.operator.gcp.storage.GcsUri;
import dev.finetune.operator.gcp.storage.LocalObjectStore;
import dev.finetune.operator.gcp.storage.ObjectStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A named dataset file that can be opened for streaming.
 *
 * @param name shown in messages and used as the key of {@code sha256}
 * @param opener opens a fresh stream; called once per validation
 */
public record DatasetSource(String name, Opener opener) {

  /** Opens a stream; may throw {@link IOException}. */
  @FunctionalInterface
  public interface Opener {
    InputStream open() throws IOException;
  }

  public DatasetSource {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(opener, "opener");
  }

  /** An object in a store, named by its URI. */
  public static DatasetSource of(ObjectStore store, GcsUri uri) {
    return new DatasetSource(uri.toString(), () -> store.open(uri));
  }

  /** A local file, named by its path as given. */
  public static DatasetSource of(Path file) {
    return new DatasetSource(file.toString(), () -> LocalObjectStore.openFile(file));
  }

  public InputStream open() throws IOException {
    return opener.open();
  }
}
