package dev.finetune.operator.dataset;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DatasetValidatorTest {

  static DatasetSource source(String name, String content) {
    byte[] b = content.getBytes(StandardCharsets.UTF_8);
    return new DatasetSource(name, () -> new ByteArrayInputStream(b));
  }

  @Test
  void summarisesTrainAndValidation() throws Exception {
    String train = JsonlValidatorTest.GEMINI_OK + "\n" + JsonlValidatorTest.GEMINI_OK + "\n";
    String val = JsonlValidatorTest.GEMINI_OK + "\n";
    DatasetValidationResult r =
        DatasetValidator.validate(
            source("train.jsonl", train), source("val.jsonl", val), ValidationOptions.defaults());
    assertThat(r.valid()).isTrue();
    assertThat(r.format()).isEqualTo("gemini");
    assertThat(r.examples()).isEqualTo(2);
    assertThat(r.validationExamples()).isEqualTo(1);
    assertThat(r.characters()).isEqualTo(4);
    assertThat(r.estimatedTokens()).isEqualTo(4);
    assertThat(r.sha256())
        .containsOnlyKeys("train.jsonl", "val.jsonl")
        .containsEntry(
            "train.jsonl", JsonlValidatorTest.sha256(train.getBytes(StandardCharsets.UTF_8)));
    assertThat(r.errors()).isEmpty();
  }

  @Test
  void validationFileMustUseTheTrainFormat() throws Exception {
    DatasetValidationResult r =
        DatasetValidator.validate(
            source("train.jsonl", JsonlValidatorTest.GEMINI_OK + "\n"),
            source("val.jsonl", JsonlValidatorTest.MSG_OK + "\n"),
            ValidationOptions.defaults());
    assertThat(r.valid()).isFalse();
    assertThat(r.errorCount()).isEqualTo(1);
    assertThat(r.errors()).containsExactly("val.jsonl:1: contents: required field is missing");
    assertThat(r.validation().format()).isEqualTo(DatasetFormat.GEMINI);
  }

  @Test
  void errorsOfBothFilesAreCappedTogether() throws Exception {
    DatasetValidationResult r =
        DatasetValidator.validate(
            source("train.jsonl", "[]\n[]\n[]\n"),
            source("val.jsonl", "[]\n[]\n"),
            ValidationOptions.defaults().withFormat(DatasetFormat.MESSAGES).withMaxErrors(4));
    assertThat(r.errorCount()).isEqualTo(5);
    assertThat(r.errors())
        .containsExactly(
            "train.jsonl:1: expected a JSON object per line, found an array",
            "train.jsonl:2: expected a JSON object per line, found an array",
            "train.jsonl:3: expected a JSON object per line, found an array",
            "val.jsonl:1: expected a JSON object per line, found an array");
  }

  @Test
  void withoutValidationFile() throws Exception {
    DatasetValidationResult r =
        DatasetValidator.validate(
            source("t.jsonl", "{\"x\":1}\n"), null, ValidationOptions.defaults());
    assertThat(r.format()).isEqualTo("unknown");
    assertThat(r.validation()).isNull();
    assertThat(r.validationExamples()).isZero();
    assertThat(r.sha256()).isEmpty();
    assertThat(r.errors()).singleElement().asString().contains("cannot detect the dataset format");
  }
}
