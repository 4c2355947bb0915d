package dev.finetune.operator.gcp.storage;

import com.google.api.gax.paging.Page;
import com.google.cloud.NoCredentials;
import com.google.cloud.ReadChannel;
import com.google.cloud.storage.Blob;
import com.google.cloud.storage.BlobId;
import com.google.cloud.storage.BlobInfo;
import com.google.cloud.storage.Storage;
import com.google.cloud.storage.StorageException;
import com.google.cloud.storage.StorageOptions;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link ObjectStore} on the Cloud Storage Java client.
 *
 * <p>Reads stream through a {@link ReadChannel} pinned to the generation seen when the object was
 * opened, so a concurrent overwrite fails the read instead of mixing two versions.
 *
 * <p>Use {@link #fromEnvironment()} in the operator: it honours {@code STORAGE_EMULATOR_HOST} (e.g.
 * {@code 127.0.0.1:4443} or {@code http://127.0.0.1:4443}) for fake-gcs-server and other emulators,
 * with no credentials; otherwise it uses Application Default Credentials.
 */
public final class GoogleCloudStorage implements ObjectStore {
  private static final Logger log = LoggerFactory.getLogger(GoogleCloudStorage.class);

  /** Environment variable naming an emulator endpoint, as the Cloud SDKs understand it. */
  public static final String EMULATOR_HOST_ENV = "STORAGE_EMULATOR_HOST";

  /** Project id used with an emulator when {@code GOOGLE_CLOUD_PROJECT} is not set. */
  public static final String EMULATOR_DEFAULT_PROJECT = "test-project";

  private static final int READ_CHUNK_BYTES = 2 * 1024 * 1024;

  private final Storage storage;

  public GoogleCloudStorage(Storage storage) {
    this.storage = Objects.requireNonNull(storage, "storage");
  }

  /** A client for the environment of this process; see the class comment. */
  public static GoogleCloudStorage fromEnvironment() {
    return fromEnvironment(System.getenv());
  }

  /** As {@link #fromEnvironment()}, reading the given variables (for tests). */
  public static GoogleCloudStorage fromEnvironment(Map<String, String> env) {
    String emulator = env.get(EMULATOR_HOST_ENV);
    if (emulator != null && !emulator.isBlank()) {
      String project = env.getOrDefault("GOOGLE_CLOUD_PROJECT", EMULATOR_DEFAULT_PROJECT);
      return forEmulator(emulator, project);
    }
    return new GoogleCloudStorage(StorageOptions.getDefaultInstance().getService());
  }

  /** A client for an emulator at {@code host} ({@code host:port} or a URL), without credentials. */
  public static GoogleCloudStorage forEmulator(String host, String projectId) {
    String url = host.contains("://") ? host : "http://" + host;
    log.info("Using Cloud Storage emulator at {} (project {})", url, projectId);
    Storage storage =
        StorageOptions.newBuilder()
            .setHost(url)
            .setProjectId(projectId)
            .setCredentials(NoCredentials.getInstance())
            .build()
            .getService();
    return new GoogleCloudStorage(storage);
  }

  /** The underlying client. */
  public Storage storage() {
    return storage;
  }

  @Override
  public InputStream open(GcsUri uri) throws IOException {
    uri.requireObject();
    Blob blob = getBlob(uri);
    if (blob == null) {
      throw notFound(uri);
    }
    BlobId pinned = BlobId.of(uri.bucket(), uri.object(), blob.getGeneration());
    try {
      ReadChannel channel = storage.reader(pinned);
      channel.setChunkSize(READ_CHUNK_BYTES);
      return Channels.newInputStream(channel);
    } catch (StorageException e) {
      throw translate(uri, e);
    }
  }

  @Override
  public Optional<ObjectInfo> stat(GcsUri uri) throws IOException {
    uri.requireObject();
    Blob blob = getBlob(uri);
    if (blob == null) {
      return Optional.empty();
    }
    return Optional.of(
        new ObjectInfo(
            uri,
            blob.getSize() == null ? 0 : blob.getSize(),
            blob.getGeneration() == null ? 0 : blob.getGeneration(),
            blob.getCrc32c(),
            blob.getMd5()));
  }

  @Override
  public void write(GcsUri uri, byte[] content) throws IOException {
    write(uri, content, null);
  }

  @Override
  public void write(GcsUri uri, byte[] content, String contentType) throws IOException {
    uri.requireObject();
    try {
      BlobInfo.Builder info = BlobInfo.newBuilder(uri.bucket(), uri.object());
      if (contentType != null) {
        info.setContentType(contentType);
      }
      storage.create(info.build(), content);
    } catch (StorageException e) {
      if (e.getCode() == 404) {
        throw ObjectNotFoundException.bucket(uri);
      }
      throw translate(uri, e);
    }
  }

  @Override
  public List<GcsUri> list(GcsUri prefix) throws IOException {
    List<GcsUri> result = new ArrayList<>();
    try {
      Page<Blob> page =
          storage.list(prefix.bucket(), Storage.BlobListOption.prefix(prefix.object()));
      for (Blob blob : page.iterateAll()) {
        result.add(GcsUri.of(blob.getBucket(), blob.getName()));
      }
    } catch (StorageException e) {
      if (e.getCode() == 404) {
        throw ObjectNotFoundException.bucket(prefix);
      }
      throw translate(prefix, e);
    }
    result.sort((a, b) -> a.object().compareTo(b.object()));
    return result;
  }

  private Blob getBlob(GcsUri uri) throws IOException {
    try {
      return storage.get(BlobId.of(uri.bucket(), uri.object()));
    } catch (StorageException e) {
      throw translate(uri, e);
    }
  }

  /** Distinguishes a missing bucket from a missing object, for a message one can act on. */
  private IOException notFound(GcsUri uri) throws IOException {
    try {
      if (storage.get(uri.bucket()) == null) {
        return ObjectNotFoundException.bucket(uri);
      }
    } catch (StorageException e) {
      // No permission to read bucket metadata: all we know is that the object is missing.
      log.debug("Cannot look up bucket of {}: {}", uri, e.getMessage());
    }
    return ObjectNotFoundException.object(uri);
  }

  private static IOException translate(GcsUri uri, StorageException e) {
    String reason =
        switch (e.getCode()) {
          case 401 -> "not authenticated (" + e.getMessage() + ")";
          case 403 -> "permission denied (" + e.getMessage() + ")";
          case 404 -> "not found (" + e.getMessage() + ")";
          default -> e.getMessage();
        };
    return new IOException(uri + ": " + reason, e);
  }
}
