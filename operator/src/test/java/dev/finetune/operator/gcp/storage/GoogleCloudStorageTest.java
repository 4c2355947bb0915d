package dev.finetune.operator.gcp.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The real google-cloud-storage client against fake-gcs-server. */
@ExtendWith(FakeGcsServerExtension.class)
class GoogleCloudStorageTest {
  private final FakeGcsServer gcs;
  private GoogleCloudStorage store;
  private String bucket;

  GoogleCloudStorageTest(FakeGcsServer gcs) {
    this.gcs = gcs;
  }

  @BeforeEach
  void setUp() {
    store = gcs.objectStore();
    bucket = gcs.newBucket("gcs-test");
  }

  @Test
  void writeStatOpenList() throws Exception {
    GcsUri a = GcsUri.of(bucket, "data/a.jsonl");
    GcsUri b = GcsUri.of(bucket, "data/b.jsonl");
    GcsUri other = GcsUri.of(bucket, "other/c.jsonl");
    byte[] content = "{\"prompt\":\"p\",\"completion\":\"c\"}\n".getBytes(StandardCharsets.UTF_8);
    store.write(b, content);
    store.write(a, content);
    store.write(other, content);

    ObjectInfo info = store.stat(a).orElseThrow();
    assertThat(info.size()).isEqualTo(content.length);
    assertThat(info.generation()).isPositive();
    assertThat(info.md5IfPresent())
        .contains(
            Base64.getEncoder().encodeToString(MessageDigest.getInstance("MD5").digest(content)));
    assertThat(info.crc32cIfPresent()).isPresent();

    try (InputStream in = store.open(a)) {
      assertThat(in.readAllBytes()).isEqualTo(content);
    }
    assertThat(store.list(GcsUri.of(bucket, "data/"))).containsExactly(a, b);
    assertThat(store.list(GcsUri.of(bucket, ""))).containsExactly(a, b, other);
    assertThat(store.stat(GcsUri.of(bucket, "data/none"))).isEmpty();
  }

  @Test
  void streamsLargeObjectsInChunks() throws Exception {
    byte[] big = new byte[7 * 1024 * 1024 + 13];
    new Random(42).nextBytes(big);
    GcsUri u = GcsUri.of(bucket, "big.bin");
    store.write(u, big);
    MessageDigest expected = MessageDigest.getInstance("SHA-256");
    MessageDigest actual = MessageDigest.getInstance("SHA-256");
    expected.update(big);
    long total = 0;
    try (InputStream in = store.open(u)) {
      byte[] buf = new byte[64 * 1024];
      for (int n; (n = in.read(buf)) > 0; ) {
        actual.update(buf, 0, n);
        total += n;
      }
    }
    assertThat(total).isEqualTo(big.length);
    assertThat(actual.digest()).isEqualTo(expected.digest());
  }

  @Test
  void missingObjectHasClearMessage() {
    GcsUri u = GcsUri.of(bucket, "x.jsonl");
    assertThatThrownBy(() -> store.open(u))
        .isInstanceOf(ObjectNotFoundException.class)
        .hasMessage("gs://" + bucket + "/x.jsonl: object not found")
        .satisfies(e -> assertThat(((ObjectNotFoundException) e).bucketMissing()).isFalse());
  }

  @Test
  void missingBucketHasClearMessage() {
    GcsUri u = GcsUri.parse("gs://no-such-bucket-here/x.jsonl");
    assertThatThrownBy(() -> store.open(u))
        .isInstanceOf(ObjectNotFoundException.class)
        .hasMessage("gs://no-such-bucket-here/x.jsonl: bucket \"no-such-bucket-here\" not found")
        .satisfies(e -> assertThat(((ObjectNotFoundException) e).bucketMissing()).isTrue());
    assertThatThrownBy(() -> store.list(GcsUri.parse("gs://no-such-bucket-here/")))
        .isInstanceOf(ObjectNotFoundException.class)
        .hasMessageContaining("bucket \"no-such-bucket-here\" not found");
  }

  @Test
  void overwriteAfterOpenDoesNotMixVersions() throws Exception {
    GcsUri u = GcsUri.of(bucket, "v.txt");
    store.write(u, "first".getBytes(StandardCharsets.UTF_8));
    long gen = store.stat(u).orElseThrow().generation();
    store.write(u, "second".getBytes(StandardCharsets.UTF_8));
    assertThat(store.stat(u).orElseThrow().generation()).isNotEqualTo(gen);
    try (InputStream in = store.open(u)) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("second");
    }
  }

  @Test
  void fromEnvironmentUsesEmulatorHost() throws Exception {
    GoogleCloudStorage fromEnv =
        GoogleCloudStorage.fromEnvironment(
            Map.of(GoogleCloudStorage.EMULATOR_HOST_ENV, gcs.hostPort()));
    GcsUri u = GcsUri.of(bucket, "env.txt");
    fromEnv.write(u, new byte[] {1, 2, 3});
    assertThat(store.stat(u)).isPresent();
    assertThat(fromEnv.list(GcsUri.of(bucket, "env"))).isEqualTo(List.of(u));
  }
}
