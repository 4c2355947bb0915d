package dev.finetune.api.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The CRD under crds/ is generated from the Java types by fabric8's crd-generator. The build fails
 * when the committed YAML differs from what the types generate. Regenerate with {@code make crds}
 * (which runs this test with -Dcrd.update=true).
 */
class CrdUpToDateTest {
  static final String FILE = "finetunejobs.finetune.dev-v1.yml";
  static final List<String> COLUMN_ORDER =
      List.of("Phase", "Queue", "Progress", "ROUGE-L", "Delta", "Accelerator", "Nodes", "Age");

  /** The generator orders printer columns by JSON path; kubectl shows them in CRD order. */
  static String render(Path generated) throws IOException {
    CustomResourceDefinition crd =
        Serialization.unmarshal(
            Files.readString(generated, StandardCharsets.UTF_8), CustomResourceDefinition.class);
    crd.getSpec()
        .getVersions()
        .forEach(
            v ->
                v.getAdditionalPrinterColumns()
                    .sort(
                        Comparator.comparingInt(
                            (CustomResourceColumnDefinition c) ->
                                COLUMN_ORDER.indexOf(c.getName()))));
    return "# Generated from crds/src/main/java by fabric8 crd-generator; do not edit.\n"
        + "# Regenerate with `make crds`.\n"
        + Serialization.asYaml(crd);
  }

  @Test
  void committedCrdMatchesTheJavaTypes() throws IOException {
    Path generated = Path.of("target/classes/META-INF/fabric8", FILE);
    Path committed = Path.of(FILE);
    String expected = render(generated);
    if (Boolean.getBoolean("crd.update")) {
      Files.writeString(committed, expected, StandardCharsets.UTF_8);
    }
    assertThat(committed).exists();
    assertThat(Files.readString(committed, StandardCharsets.UTF_8))
        .as("crds/%s is stale: run `make crds` and commit the result", FILE)
        .isEqualTo(expected);
  }

  @Test
  void printerColumnsComeInTheOrderPeopleReadThem() throws IOException {
    CustomResourceDefinition crd =
        Serialization.unmarshal(
            Files.readString(Path.of(FILE), StandardCharsets.UTF_8),
            CustomResourceDefinition.class);
    assertThat(crd.getSpec().getVersions().get(0).getAdditionalPrinterColumns())
        .extracting(CustomResourceColumnDefinition::getName)
        .containsExactlyElementsOf(COLUMN_ORDER);
    assertThat(crd.getSpec().getNames().getShortNames()).containsExactly("ftj");
    assertThat(crd.getSpec().getNames().getCategories()).containsExactly("finetune");
  }
}
