package dev.finetune.operator.tenancy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.IdentitySpec;
import dev.finetune.operator.Fixtures;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class TenantPolicyTest {
  static final Map<String, String> NS =
      Map.of(StorageAllowList.ANNOTATION, "gs://ok-bucket, gs://shared/team-a/");

  static FineTuneJob job() {
    FineTuneJob j = Fixtures.job("team-a", "run");
    j.getSpec().dataset.train = "gs://ok-bucket/data/train.jsonl";
    j.getSpec().dataset.validation = "gs://shared/team-a/eval.jsonl";
    j.getSpec().output = "gs://ok-bucket/runs/run/";
    return j;
  }

  @Test
  void aSpecInsideTheAllowListPasses() {
    assertThat(TenantPolicy.check(job(), NS)).isEmpty();
    FineTuneJob j = job();
    j.getSpec().model.source = "gs://shared/team-a/models/gemma/";
    assertThat(TenantPolicy.check(j, NS)).isEmpty();
  }

  @ParameterizedTest
  @CsvSource({
    "gs://other-bucket/train.jsonl, outside",
    "gs://ok-bucket-evil/train.jsonl, outside",
    "gs://shared/team-ab/train.jsonl, outside",
    "gs://shared/team-a/../team-b/train.jsonl, resolves to gs://shared/team-b/train.jsonl",
    "gs://ok-bucket/../other-bucket/train.jsonl, resolves to gs://other-bucket/train.jsonl",
    "gs://ok-bucket%2F..%2Fother-bucket/x.jsonl, resolves to gs://other-bucket/x.jsonl",
    "gs://ok-bucket/a%252F..%252F..%252Fother-bucket/x, resolves to gs://other-bucket/x",
    "gs://Other-Bucket/train.jsonl, resolves to gs://other-bucket/train.jsonl",
    "gs://ok-bucket/..%2F..%2Fother/x, climbs above the bucket",
    "gs://ok-bucket\\..\\other-bucket\\x, resolves to gs://other-bucket/x",
    "gs://ok-bucket/data//train.jsonl, canonical form",
    "gs://OK-BUCKET/data/train.jsonl, canonical form",
    "gs://ok-bucket/./data/train.jsonl, canonical form",
    "gs://ok-bucket/data/%74rain.jsonl, canonical form",
    "gs://ok-bucket/%zz, invalid percent-encoding",
  })
  void everyUriTrickIsRefusedInEveryField(String uri, String why) {
    for (String field : new String[] {"train", "validation", "model", "output"}) {
      for (IdentitySpec.Mode mode : IdentitySpec.Mode.values()) {
        FineTuneJob j = job();
        j.getSpec().identity.mode = mode;
        switch (field) {
          case "train" -> j.getSpec().dataset.train = uri;
          case "validation" -> j.getSpec().dataset.validation = uri;
          case "model" -> j.getSpec().model.source = uri;
          default -> j.getSpec().output = uri;
        }
        Optional<TenantPolicy.Refusal> r = TenantPolicy.check(j, NS);
        assertThat(r).as("%s in %s (%s)", uri, field, mode).isPresent();
        assertThat(r.get().message()).contains(uri).contains(why);
        assertThat(r.get().field()).contains(field.equals("model") ? "model.source" : field);
      }
    }
  }

  @Test
  void refusalsNameTheAnnotation() {
    FineTuneJob j = job();
    j.getSpec().output = "gs://elsewhere/out/";
    assertThat(TenantPolicy.check(j, NS).orElseThrow().message())
        .contains(StorageAllowList.ANNOTATION)
        .contains("namespace \"team-a\"");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", " , ", "ok-bucket", "s3://ok-bucket", "gs://"})
  void aMissingOrUselessAnnotationAllowsNothing(String value) {
    assertThat(TenantPolicy.check(job(), Map.of(StorageAllowList.ANNOTATION, value))).isPresent();
    assertThat(TenantPolicy.check(job(), Map.of())).isPresent();
  }

  @Test
  void directModeNeedsWholeBuckets() {
    FineTuneJob j = job();
    j.getSpec().identity.mode = IdentitySpec.Mode.DIRECT;
    j.getSpec().identity.gcpServiceAccount = null;
    var r = TenantPolicy.check(j, NS);
    assertThat(r).isPresent();
    assertThat(r.get().condition()).isEqualTo("IdentityBound");
    assertThat(r.get().message()).contains("bucket shared");
    j.getSpec().dataset.validation = null;
    assertThat(TenantPolicy.check(j, NS)).isEmpty();
  }

  @Test
  void hubModelsAndLocalPathsAreNotStorage() {
    FineTuneJob j = job();
    j.getSpec().model.source = "/models/gemma";
    assertThat(TenantPolicy.check(j, NS)).isEmpty();
    j.getSpec().model.source = "hf://google/gemma-3-1b-it";
    assertThat(TenantPolicy.check(j, NS)).isEmpty();
    j.getSpec().model.source = "GS://other-bucket/m/";
    assertThat(TenantPolicy.check(j, NS)).isPresent();
  }

  @Test
  void prefixEntriesMatchWholeSegments() {
    StorageAllowList l = StorageAllowList.parse("gs://b/team");
    assertThat(l.allows(loc("gs://b/team/x"))).isTrue();
    assertThat(l.allows(loc("gs://b/team/"))).isTrue();
    assertThat(l.allows(loc("gs://b/team"))).isTrue();
    assertThat(l.allows(loc("gs://b/teamx/y"))).isFalse();
    assertThat(l.allows(loc("gs://b/"))).isFalse();
    assertThat(l.allows(loc("gs://bb/team/x"))).isFalse();
    assertThat(StorageAllowList.parse("gs://B/Team/").allows(loc("gs://b/Team/x"))).isTrue();
  }

  @Test
  void theOperatorTokenNeedsAnOptIn() {
    assertThat(TenantPolicy.operatorTokenAllowed(Map.of())).isFalse();
    assertThat(
            TenantPolicy.operatorTokenAllowed(
                Map.of(TenantPolicy.OPERATOR_HF_TOKEN_ANNOTATION, "yes")))
        .isFalse();
    assertThat(
            TenantPolicy.operatorTokenAllowed(
                Map.of(TenantPolicy.OPERATOR_HF_TOKEN_ANNOTATION, "true")))
        .isTrue();
  }

  static StorageLocation loc(String uri) {
    return ((StorageLocation.Resolved) StorageLocation.parse(uri)).location();
  }
}
