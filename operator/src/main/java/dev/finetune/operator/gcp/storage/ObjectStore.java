package dev.finetune.operator.gcp.storage;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;

/**
 * The small slice of object storage the operator needs. Implementations: {@link GoogleCloudStorage}
 * (Cloud Storage or an emulator) and {@link LocalObjectStore} (a directory per bucket, for local
 * runs and tests).
 *
 * <p>All methods may block on the network; call them off the reconcile thread.
 */
public interface ObjectStore {

  /**
   * Opens the object for streaming reading. The caller closes the stream. Implementations never
   * load the whole object into memory.
   *
   * @throws ObjectNotFoundException when the object or its bucket does not exist
   * @throws IOException on any other access failure (permissions, network)
   */
  InputStream open(GcsUri uri) throws IOException;

  /** Metadata of the object, or empty when it does not exist. */
  Optional<ObjectInfo> stat(GcsUri uri) throws IOException;

  /** Creates or replaces the object with {@code content}. */
  void write(GcsUri uri, byte[] content) throws IOException;

  /** Creates or replaces the object with {@code content} of media type {@code contentType}. */
  default void write(GcsUri uri, byte[] content, String contentType) throws IOException {
    write(uri, content);
  }

  /**
   * Every object whose name starts with {@code prefix.object()}, in name order.
   *
   * @throws ObjectNotFoundException when the bucket does not exist
   */
  List<GcsUri> list(GcsUri prefix) throws IOException;
}
