package dev.finetune.operator.gcp.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class GcsUriTest {

  @Test
  void parsesBucketAndObject() {
    GcsUri u = GcsUri.parse("gs://my-bucket/data/train.jsonl");
    assertThat(u.bucket()).isEqualTo("my-bucket");
    assertThat(u.object()).isEqualTo("data/train.jsonl");
    assertThat(u.fileName()).isEqualTo("train.jsonl");
    assertThat(u).hasToString("gs://my-bucket/data/train.jsonl");
    assertThat(u).isEqualTo(GcsUri.of("my-bucket", "data/train.jsonl"));
  }

  @Test
  void bucketOnly() {
    assertThat(GcsUri.parse("gs://bucket").hasObject()).isFalse();
    assertThat(GcsUri.parse("gs://bucket/").object()).isEmpty();
    assertThat(GcsUri.parse("gs://bucket/").resolve("a/b.jsonl"))
        .hasToString("gs://bucket/a/b.jsonl");
    assertThat(GcsUri.parse("gs://bucket/dir").resolve("x")).hasToString("gs://bucket/dir/x");
    assertThatThrownBy(() -> GcsUri.parse("gs://bucket").requireObject())
        .hasMessage("\"gs://bucket/\": names a bucket, not an object; expected gs://bucket/object");
  }

  @Test
  void rejectsOtherSchemes() {
    assertThatThrownBy(() -> GcsUri.parse("s3://b/x"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("\"s3://b/x\": not a Cloud Storage URI; expected gs://bucket/object");
    assertThatThrownBy(() -> GcsUri.parse("/tmp/x.jsonl"))
        .hasMessageContaining("not a Cloud Storage URI");
    assertThatThrownBy(() -> GcsUri.parse(""))
        .hasMessage("empty Cloud Storage URI; expected gs://bucket/object");
  }

  @Test
  void rejectsBadBuckets() {
    assertThatThrownBy(() -> GcsUri.parse("gs:///x"))
        .hasMessage("\"gs:///x\": missing bucket name; expected gs://bucket/object");
    assertThatThrownBy(() -> GcsUri.parse("gs://ab/x"))
        .hasMessage("\"gs://ab/x\": bucket name \"ab\" must be 3 to 63 characters long");
    assertThatThrownBy(() -> GcsUri.parse("gs://My-Bucket/x"))
        .hasMessageContaining("may only contain lowercase letters, digits, '-', '_' and '.'")
        .hasMessageContaining("found 'M'");
    assertThatThrownBy(() -> GcsUri.parse("gs://-bucket/x"))
        .hasMessageContaining("must start and end with a letter or digit");
  }

  @Test
  void rejectsBadObjectNames() {
    assertThatThrownBy(() -> GcsUri.parse("gs://bucket/a\nb"))
        .hasMessageContaining("must not contain a carriage return or line feed");
    assertThatThrownBy(() -> GcsUri.parse("gs://bucket/" + "x".repeat(1025)))
        .hasMessageContaining("longer than 1024 bytes");
  }
}
