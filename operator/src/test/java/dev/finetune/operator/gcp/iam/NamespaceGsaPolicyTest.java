package dev.finetune.operator.gcp.iam;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class NamespaceGsaPolicyTest {

  @Test
  void allowsListedEmailsWithAnySeparator() {
    String ann =
        "a@p.iam.gserviceaccount.com, b@p.iam.gserviceaccount.com\n c@q.iam.gserviceaccount.com";
    assertThat(NamespaceGsaPolicy.entries(ann)).hasSize(3);
    assertThat(NamespaceGsaPolicy.evaluate("team-a", ann, "c@q.iam.gserviceaccount.com").allowed())
        .isTrue();
    assertThat(NamespaceGsaPolicy.evaluate("team-a", ann, "B@P.iam.gserviceaccount.com").allowed())
        .isTrue();
  }

  @Test
  void refusesWithActionableMessage() {
    NamespaceGsaPolicy.Decision d =
        NamespaceGsaPolicy.evaluate(
            "team-a", "a@p.iam.gserviceaccount.com", "b@p.iam.gserviceaccount.com");
    assertThat(d.allowed()).isFalse();
    assertThat(d.message())
        .isEqualTo(
            "namespace \"team-a\" may use only [a@p.iam.gserviceaccount.com];"
                + " \"b@p.iam.gserviceaccount.com\" is not allowed (ask a cluster admin to add it"
                + " to the namespace annotation finetune.dev/allowed-gcp-service-accounts)");
  }

  @Test
  void absentAnnotationAllowsNothing() {
    assertThat(NamespaceGsaPolicy.evaluate("ns", null, "a@p.iam.gserviceaccount.com").allowed())
        .isFalse();
    assertThat(NamespaceGsaPolicy.evaluate("ns", "  ", "a@p.iam.gserviceaccount.com").message())
        .contains("may not use any Google service account");
  }

  @Test
  void wildcardsInLocalPartOnly() {
    String ann = "*@team-a.iam.gserviceaccount.com trainer-*@proj.iam.gserviceaccount.com";
    assertThat(NamespaceGsaPolicy.evaluate("n", ann, "x@team-a.iam.gserviceaccount.com").allowed())
        .isTrue();
    assertThat(
            NamespaceGsaPolicy.evaluate("n", ann, "trainer-7b@proj.iam.gserviceaccount.com")
                .allowed())
        .isTrue();
    assertThat(
            NamespaceGsaPolicy.evaluate("n", ann, "admin@proj.iam.gserviceaccount.com").allowed())
        .isFalse();
    assertThat(NamespaceGsaPolicy.evaluate("n", ann, "x@team-b.iam.gserviceaccount.com").allowed())
        .isFalse();
    assertThat(NamespaceGsaPolicy.evaluate("n", "*", "x@p.iam.gserviceaccount.com").allowed())
        .isFalse();
    assertThat(NamespaceGsaPolicy.evaluate("n", "*@*", "x@p.iam.gserviceaccount.com").allowed())
        .isFalse();
  }
}
