package dev.finetune.operator.children;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.finetune.api.v1alpha1.FineTuneJob;
import dev.finetune.api.v1alpha1.MethodSpec;
import dev.finetune.api.v1alpha1.ModelSpec;
import dev.finetune.operator.Fixtures;
import io.fabric8.kubernetes.api.model.ConfigMap;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every rendered config must satisfy the trainer contract, trainer-image/job-config.schema.json.
 */
class JobConfigRendererTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static JsonSchema schema;

  @BeforeAll
  static void loadSchema() throws Exception {
    JsonNode node =
        JSON.readTree(Files.readString(Path.of("../trainer-image/job-config.schema.json")));
    schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(node);
  }

  static Set<ValidationMessage> validate(String json) throws Exception {
    return schema.validate(JSON.readTree(json));
  }

  @Test
  void aTypicalJobRendersAValidConfig() throws Exception {
    FineTuneJob job = Fixtures.job("team-a", "support-bot");
    ConfigMap cm = TrainerConfigMap.desired(job, "trainer:1", "nvidia-l4", 1);
    String json = cm.getData().get("job.json");
    assertThat(validate(json)).isEmpty();
    JsonNode cfg = JSON.readTree(json);
    assertThat(cfg.at("/model/source").asText()).isEqualTo("hf://google/gemma-3-1b-it");
    assertThat(cfg.at("/dataset/validation").asText()).isEqualTo("gs://ft-data/support/eval.jsonl");
    assertThat(cfg.at("/output").asText()).isEqualTo("gs://ft-out/runs/support-bot/");
    assertThat(cfg.at("/job/namespace").asText()).isEqualTo("team-a");
    assertThat(cm.getImmutable()).isTrue();
  }

  @Test
  void severalNodesRenderTheNodeCountWithinTheContract() throws Exception {
    FineTuneJob job = Fixtures.job("team-a", "multi");
    job.getSpec().hardware.nodes = 3;
    String json = JobConfigRenderer.renderJson(job, "trainer:1", "nvidia-l4", 2);
    assertThat(validate(json)).isEmpty();
    JsonNode cfg = JSON.readTree(json);
    assertThat(cfg.at("/hardware/nodes").asInt()).isEqualTo(3);
    assertThat(cfg.at("/hardware/count").asInt()).isEqualTo(2);
    job.getSpec().hardware.nodes = 17;
    assertThat(validate(JobConfigRenderer.renderJson(job, "trainer:1", "nvidia-l4", 2)))
        .isNotEmpty();
    job.getSpec().hardware.nodes = 1;
    JsonNode one = JSON.readTree(JobConfigRenderer.renderJson(job, "trainer:1", "nvidia-l4", 2));
    assertThat(one.at("/hardware").has("nodes")).isFalse();
  }

  @Test
  void defaultsAndOptionsRenderValidConfigs() throws Exception {
    FineTuneJob job = Fixtures.job("team-a", "q");
    job.getSpec().dataset.validation = null;
    job.getSpec().method = new MethodSpec();
    job.getSpec().method.type = MethodSpec.Type.QLORA;
    job.getSpec().model.tokenSecretRef = new ModelSpec.SecretKeyRef();
    job.getSpec().model.tokenSecretRef.name = "hf";
    job.getSpec().model.parameters = "7B";
    String json = JobConfigRenderer.renderJson(job, "trainer:1", "nvidia-tesla-a100", 2);
    assertThat(validate(json)).isEmpty();
    JsonNode cfg = JSON.readTree(json);
    assertThat(cfg.at("/method/type").asText()).isEqualTo("qlora");
    assertThat(cfg.at("/dataset/validationSplit").asDouble()).isEqualTo(0.1);
    assertThat(cfg.at("/model/tokenFile").asText()).isEqualTo(JobConfigRenderer.TOKEN_FILE);
    assertThat(cfg.at("/hardware/count").asInt()).isEqualTo(2);
    assertThat(cfg.at("/hardware/strategy").asText()).isEqualTo("ddp");
  }

  @Test
  void theShardingStrategyIsRenderedAndOnlyKnownOnesPass() throws Exception {
    FineTuneJob job = Fixtures.job("team-a", "big");
    job.getSpec().model.parameters = "70B";
    ConfigMap cm = TrainerConfigMap.desired(job, "trainer:1", "nvidia-a100-80gb", 8, "fsdp");
    String json = cm.getData().get(TrainerConfigMap.KEY);
    assertThat(validate(json)).isEmpty();
    JsonNode cfg = JSON.readTree(json);
    assertThat(cfg.at("/hardware/accelerator").asText()).isEqualTo("nvidia-a100-80gb");
    assertThat(cfg.at("/hardware/count").asInt()).isEqualTo(8);
    assertThat(cfg.at("/hardware/strategy").asText()).isEqualTo("fsdp");
    // A status written before the strategy existed renders the default.
    assertThat(
            JSON.readTree(JobConfigRenderer.renderJson(job, "trainer:1", "nvidia-l4", 1, null))
                .at("/hardware/strategy")
                .asText())
        .isEqualTo("ddp");
    ObjectNode bad = (ObjectNode) JSON.readTree(json);
    ((ObjectNode) bad.get("hardware")).put("strategy", "zero3");
    assertThat(validate(bad.toString()))
        .extracting(ValidationMessage::getMessage)
        .anySatisfy(m -> assertThat(m).contains("strategy"));
    // Configs without the field (written for local runs, or by an older operator) stay valid.
    ObjectNode old = (ObjectNode) JSON.readTree(json);
    ((ObjectNode) old.get("hardware")).remove("strategy");
    assertThat(validate(old.toString())).isEmpty();
  }

  @Test
  void theSchemaRejectsAConfigMissingARequiredField() throws Exception {
    ObjectNode cfg =
        (ObjectNode)
            JSON.readTree(
                JobConfigRenderer.renderJson(Fixtures.job("a", "b"), "trainer:1", "nvidia-l4", 1));
    cfg.remove("output");
    assertThat(validate(cfg.toString()))
        .extracting(ValidationMessage::getMessage)
        .anyMatch(m -> m.contains("output"));
  }
}
