package dev.finetune.operator.gcp.storage;

import com.google.cloud.storage.BucketInfo;
import com.google.cloud.storage.Storage;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A running fake-gcs-server (in-memory backend, plain HTTP on 127.0.0.1), as provided by {@link
 * FakeGcsServerExtension}. State lives as long as the server: use {@link #newBucket(String)} for
 * names that do not clash between tests.
 */
public final class FakeGcsServer {
  public static final String PROJECT = "test-project";

  private static final AtomicInteger BUCKETS = new AtomicInteger();

  private final int port;
  private volatile GoogleCloudStorage client;

  FakeGcsServer(int port) {
    this.port = port;
  }

  public int port() {
    return port;
  }

  /** {@code 127.0.0.1:PORT}, the form {@code STORAGE_EMULATOR_HOST} takes. */
  public String hostPort() {
    return "127.0.0.1:" + port;
  }

  /** {@code http://127.0.0.1:PORT}. */
  public String endpoint() {
    return "http://" + hostPort();
  }

  /** A real Cloud Storage client pointed at this server (shared, created on first use). */
  public GoogleCloudStorage objectStore() {
    GoogleCloudStorage c = client;
    if (c == null) {
      synchronized (this) {
        if (client == null) {
          client = GoogleCloudStorage.forEmulator(endpoint(), PROJECT);
        }
        c = client;
      }
    }
    return c;
  }

  public Storage storage() {
    return objectStore().storage();
  }

  /** Creates a bucket named {@code prefix-N} (unique within this JVM) and returns its name. */
  public String newBucket(String prefix) {
    String name = prefix + "-" + BUCKETS.incrementAndGet();
    createBucket(name);
    return name;
  }

  public void createBucket(String name) {
    storage().create(BucketInfo.of(name));
  }

  void closeClient() {
    GoogleCloudStorage c = client;
    if (c != null) {
      try {
        c.storage().close();
      } catch (Exception e) {
        // best effort on shutdown
      }
    }
  }
}
