package dev.finetune.operator.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.finetune.operator.gcp.storage.FakeGcsServer;
import dev.finetune.operator.gcp.storage.FakeGcsServerExtension;
import dev.finetune.operator.gcp.storage.GcsUri;
import dev.finetune.operator.gcp.storage.GoogleCloudStorage;
import dev.finetune.operator.gcp.storage.ObjectNotFoundException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Validation of gs:// objects through the real Cloud Storage client and fake-gcs-server. */
@ExtendWith(FakeGcsServerExtension.class)
class DatasetGcsValidationTest {

  @Test
  void validatesObjects(FakeGcsServer gcs) throws Exception {
    GoogleCloudStorage store = gcs.objectStore();
    String bucket = gcs.newBucket("datasets");
    GcsUri train = GcsUri.of(bucket, "job/train.jsonl");
    GcsUri val = GcsUri.of(bucket, "job/validation.jsonl");
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 20_000; i++) {
      sb.append(JsonlValidatorTest.GEMINI_OK).append('\n');
    }
    sb.append("{\"contents\":[{\"role\":\"model\",\"parts\":[{\"text\":\"a\"}]}]}\n");
    byte[] trainBytes = sb.toString().getBytes(StandardCharsets.UTF_8);
    store.write(train, trainBytes);
    store.write(val, (JsonlValidatorTest.GEMINI_OK + "\n").getBytes(StandardCharsets.UTF_8));

    DatasetValidationResult r =
        DatasetValidator.validate(
            DatasetSource.of(store, train),
            DatasetSource.of(store, val),
            ValidationOptions.defaults());
    assertThat(r.format()).isEqualTo("gemini");
    assertThat(r.examples()).isEqualTo(20_000);
    assertThat(r.validationExamples()).isEqualTo(1);
    assertThat(r.sha256()).containsEntry(train.toString(), JsonlValidatorTest.sha256(trainBytes));
    assertThat(r.errors())
        .containsExactly(
            train
                + ":20001: contents[0].role: expected \"user\" as the first turn, found"
                + " \"model\"");
  }

  @Test
  void missingObject(FakeGcsServer gcs) {
    String bucket = gcs.newBucket("datasets");
    GcsUri missing = GcsUri.of(bucket, "x.jsonl");
    assertThatThrownBy(
            () ->
                DatasetValidator.validate(
                    DatasetSource.of(gcs.objectStore(), missing),
                    null,
                    ValidationOptions.defaults()))
        .isInstanceOf(ObjectNotFoundException.class)
        .hasMessage("gs://" + bucket + "/x.jsonl: object not found");
  }

  @Test
  void missingBucket(FakeGcsServer gcs) {
    GcsUri missing = GcsUri.parse("gs://no-such-datasets/x.jsonl");
    assertThatThrownBy(
            () ->
                DatasetValidator.validate(
                    DatasetSource.of(gcs.objectStore(), missing),
                    null,
                    ValidationOptions.defaults()))
        .isInstanceOf(ObjectNotFoundException.class)
        .hasMessage("gs://no-such-datasets/x.jsonl: bucket \"no-such-datasets\" not found");
  }
}
