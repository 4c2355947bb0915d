package dev.finetune.operator.gcp.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalObjectStoreTest {
  @TempDir Path root;

  @Test
  void behavesLikeABucketPerDirectory() throws Exception {
    Files.createDirectories(root.resolve("bkt"));
    LocalObjectStore store = new LocalObjectStore(root);
    GcsUri u = GcsUri.parse("gs://bkt/a/b.jsonl");
    store.write(u, new byte[] {'x', '\n'});
    assertThat(store.stat(u).orElseThrow().size()).isEqualTo(2);
    try (InputStream in = store.open(u)) {
      assertThat(in.readAllBytes()).containsExactly('x', '\n');
    }
    assertThat(store.list(GcsUri.parse("gs://bkt/a"))).containsExactly(u);
    assertThatThrownBy(() -> store.open(GcsUri.parse("gs://bkt/none")))
        .isInstanceOf(ObjectNotFoundException.class)
        .hasMessage("gs://bkt/none: object not found");
    assertThatThrownBy(() -> store.open(GcsUri.parse("gs://nob/none")))
        .hasMessage("gs://nob/none: bucket \"nob\" not found");
    assertThatThrownBy(() -> store.open(GcsUri.parse("gs://bkt/../x")))
        .hasMessageContaining("escapes the bucket directory");
  }
}
